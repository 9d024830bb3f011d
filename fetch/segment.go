package fetch

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unit is what a segment size counts.
type Unit string

const (
	Chars Unit = "chars" // Unicode code points
	Words Unit = "words" // white-space separated fields
)

// Segment is one piece of a page's text: Text == text[Start:End] (byte
// offsets, half-open).
type Segment struct {
	Index int    `json:"index"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Text  string `json:"text"`
}

// SegmentOption adjusts Segments.
type SegmentOption func(*segOpts)

type segOpts struct{ overlap int }

// WithOverlap starts each segment after the first up to n units (of the
// same Unit) before the previous one ended, so a fact cut at a boundary is
// whole in one of the two. Segments may then be up to size+n long.
func WithOverlap(n int) SegmentOption { return func(o *segOpts) { o.overlap = max(n, 0) } }

// Segments splits text into pieces of at most size units, breaking at
// paragraph boundaries (blank lines) where it can, then at sentence ends,
// then between words, and inside a word only when one word is longer than
// size. size <= 0 gives one segment; an unknown unit counts Chars. Blank
// text gives no segments.
func Segments(text string, size int, by Unit, opts ...SegmentOption) []Segment {
	var o segOpts
	for _, f := range opts {
		f(&o)
	}
	if by != Words {
		by = Chars
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if size <= 0 {
		s, e := trimSpan(text, 0, len(text))
		return []Segment{{Index: 0, Start: s, End: e, Text: text[s:e]}}
	}
	var pieces [][2]int
	for _, p := range paragraphs(text) {
		pieces = appendPieces(pieces, text, p, size, by)
	}
	var segs []Segment
	start, end := -1, -1
	emit := func() {
		s := start
		if len(segs) > 0 && o.overlap > 0 {
			prev := segs[len(segs)-1].Start
			_, w := utf8.DecodeRuneInString(text[prev:])
			s = backUp(text, start, o.overlap, by, prev+w) // strictly after the previous start
		}
		segs = append(segs, Segment{Index: len(segs), Start: s, End: end, Text: text[s:end]})
	}
	for _, p := range pieces {
		if start >= 0 && measure(text[start:p[1]], by) > size {
			emit()
			start = -1
		}
		if start < 0 {
			start = p[0]
		}
		end = p[1]
	}
	if start >= 0 {
		emit()
	}
	return segs
}

func measure(s string, by Unit) int {
	if by == Words {
		return len(strings.Fields(s))
	}
	return utf8.RuneCountInString(s)
}

// trimSpan narrows [s,e) to exclude surrounding white space.
func trimSpan(text string, s, e int) (int, int) {
	for s < e {
		r, n := utf8.DecodeRuneInString(text[s:e])
		if !unicode.IsSpace(r) {
			break
		}
		s += n
	}
	for e > s {
		r, n := utf8.DecodeLastRuneInString(text[s:e])
		if !unicode.IsSpace(r) {
			break
		}
		e -= n
	}
	return s, e
}

// paragraphs returns the non-blank spans separated by blank lines.
func paragraphs(text string) [][2]int {
	var out [][2]int
	s := 0
	for s < len(text) {
		i := strings.Index(text[s:], "\n\n")
		e := len(text)
		if i >= 0 {
			e = s + i
		}
		if a, b := trimSpan(text, s, e); a < b {
			out = append(out, [2]int{a, b})
		}
		if i < 0 {
			break
		}
		s = e + 2
	}
	return out
}

// appendPieces adds span p as one piece if it fits, else as sentence, word
// and, last, code-point pieces that each fit.
func appendPieces(out [][2]int, text string, p [2]int, size int, by Unit) [][2]int {
	if measure(text[p[0]:p[1]], by) <= size {
		return append(out, p)
	}
	for _, s := range sentences(text, p) {
		if measure(text[s[0]:s[1]], by) <= size {
			out = append(out, s)
			continue
		}
		out = appendWordPieces(out, text, s, size, by)
	}
	return out
}

// sentences splits span p after '.', '!' or '?' followed by white space.
func sentences(text string, p [2]int) [][2]int {
	var out [][2]int
	s := p[0]
	for i := p[0]; i < p[1]-1; i++ {
		c := text[i]
		if (c == '.' || c == '!' || c == '?') && (text[i+1] == ' ' || text[i+1] == '\n') {
			if a, b := trimSpan(text, s, i+1); a < b {
				out = append(out, [2]int{a, b})
			}
			s = i + 1
		}
	}
	if a, b := trimSpan(text, s, p[1]); a < b {
		out = append(out, [2]int{a, b})
	}
	return out
}

// appendWordPieces packs whole words of span p into pieces of at most size.
func appendWordPieces(out [][2]int, text string, p [2]int, size int, by Unit) [][2]int {
	start, end := -1, -1
	i := p[0]
	for i < p[1] {
		ws := i
		for ws < p[1] {
			r, n := utf8.DecodeRuneInString(text[ws:])
			if !unicode.IsSpace(r) {
				break
			}
			ws += n
		}
		we := ws
		for we < p[1] {
			r, n := utf8.DecodeRuneInString(text[we:])
			if unicode.IsSpace(r) {
				break
			}
			we += n
		}
		if ws == we {
			break
		}
		i = we
		if start >= 0 && measure(text[start:we], by) <= size {
			end = we
			continue
		}
		if start >= 0 {
			out = append(out, [2]int{start, end})
		}
		if measure(text[ws:we], by) <= size {
			start, end = ws, we
			continue
		}
		// One word longer than size code points: cut it.
		for ws < we {
			cut, n := ws, 0
			for cut < we && n < size {
				_, w := utf8.DecodeRuneInString(text[cut:])
				cut += w
				n++
			}
			out = append(out, [2]int{ws, cut})
			ws = cut
		}
		start = -1
	}
	if start >= 0 {
		out = append(out, [2]int{start, end})
	}
	return out
}

// backUp moves start back by up to n units, not before floor, landing on a
// word start for Words and a code point boundary for Chars.
func backUp(text string, start, n int, by Unit, floor int) int {
	s := start
	if by == Chars {
		for k := 0; k < n && s > floor; k++ {
			_, w := utf8.DecodeLastRuneInString(text[floor:s])
			s -= w
		}
		a, _ := trimSpan(text, s, start)
		return a
	}
	for k := 0; k < n && s > floor; k++ {
		for s > floor { // skip spaces before
			r, w := utf8.DecodeLastRuneInString(text[floor:s])
			if !unicode.IsSpace(r) {
				break
			}
			s -= w
		}
		for s > floor { // then the word
			r, w := utf8.DecodeLastRuneInString(text[floor:s])
			if unicode.IsSpace(r) {
				break
			}
			s -= w
		}
	}
	a, _ := trimSpan(text, s, start)
	return a
}
