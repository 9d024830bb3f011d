package guard

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Clean removes what a reader cannot see but a model still reads:
// zero-width and other format characters (Unicode Cf: ZWSP, ZWJ, word
// joiner, soft hyphen, BOM, bidi embeddings, overrides and isolates, tag
// characters), variation selectors and the Hangul fillers. Everything
// visible is kept as written. The agent shows untrusted text cleaned when
// its preset's guard is on.
func Clean(s string) string {
	if !hasInvisible(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !invisible(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisible reports whether r renders as nothing (or only reorders
// others). Line and paragraph breaks are visible; tab and newline are not
// Cf.
func invisible(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case unicode.Is(unicode.Cf, r):
		return true
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF: // variation selectors
		return true
	case r == 0x034F, r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0, r == 0x180E: // grapheme joiner, Hangul fillers, Mongolian vowel separator
		return true
	}
	return false
}

func hasInvisible(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			for _, r := range s[i:] {
				if invisible(r) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// maxView bounds the text the screen reads: screening is linear, but an
// untrusted field can be megabytes.
const maxView = 256 << 10

// View is the text the screen reads: Clean'd, NFKC-normalised (so
// full-width and compatibility letters become plain ones), with Latin
// look-alikes from Cyrillic and Greek folded in words that mix scripts,
// followed by what hides in the text decoded: Unicode tag characters read
// as ASCII, base64 runs and percent-encoding that decode to text.
func View(s string) string {
	if len(s) > maxView {
		s = s[:maxView]
	}
	hidden := tagText(s)
	v := norm.NFKC.String(Clean(s))
	v = foldHomoglyphs(v)
	var b strings.Builder
	b.WriteString(v)
	if hidden != "" {
		b.WriteString("\n")
		b.WriteString(foldHomoglyphs(norm.NFKC.String(hidden)))
	}
	for _, d := range decodedRuns(v) {
		b.WriteString("\n")
		b.WriteString(foldHomoglyphs(norm.NFKC.String(Clean(d))))
	}
	return b.String()
}

// tagText reads Unicode tag characters (U+E0020–U+E007E, invisible in
// every renderer) as the ASCII they shadow: "ASCII smuggling".
func tagText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0xE0020 && r <= 0xE007E {
			b.WriteRune(r - 0xE0000)
		}
	}
	return b.String()
}

// homoglyphs maps Cyrillic and Greek letters drawn like Latin ones.
var homoglyphs = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x',
	'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l', 'ү': 'y', 'һ': 'h', 'ɡ': 'g',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'τ': 't', 'υ': 'u', 'ε': 'e', 'χ': 'x',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// foldHomoglyphs rewrites look-alike letters as Latin in every word that
// holds a Latin letter, so "іgnоrе" reads "ignore" while Russian and Greek
// words stay as they are. Where it folded anything, the text follows
// again with every look-alike folded, for words drawn wholly from
// look-alikes ("рау" for "pay").
func foldHomoglyphs(s string) string {
	f, mixed := foldMixed(s)
	if !mixed {
		return s
	}
	var b strings.Builder
	b.Grow(2*len(f) + 1)
	b.WriteString(f)
	b.WriteByte('\n')
	for _, r := range s {
		if l, ok := homoglyphs[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldMixed folds look-alikes in mixed-script words and reports whether
// there were any.
func foldMixed(s string) (string, bool) {
	mixed := false
	if !hasNonASCIILetter(s) {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	start := -1
	flush := func(end int) {
		w := s[start:end]
		latin, glyph := false, false
		for _, r := range w {
			if r < 0x80 && unicode.IsLetter(r) {
				latin = true
			} else if _, ok := homoglyphs[r]; ok {
				glyph = true
			}
		}
		if !latin || !glyph {
			b.WriteString(w)
			return
		}
		mixed = true
		for _, r := range w {
			if l, ok := homoglyphs[r]; ok {
				r = l
			}
			b.WriteRune(r)
		}
	}
	for i, r := range s {
		letter := unicode.IsLetter(r) || unicode.IsMark(r)
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			flush(i)
			start = -1
		}
		if !letter {
			b.WriteRune(r)
		}
	}
	if start >= 0 {
		flush(len(s))
	}
	return b.String(), mixed
}

func hasNonASCIILetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

var (
	base64Run  = regexp.MustCompile(`[A-Za-z0-9+/_\-]{16,}={0,2}`)
	percentRun = regexp.MustCompile(`(?:%[0-9A-Fa-f]{2}[^\s%]{0,3}){4,}`)
)

// maxDecoded bounds how many encoded runs one text may have decoded.
const maxDecoded = 16

// decodedRuns returns the text hidden in base64 runs (standard or URL
// alphabet) and percent-encoded runs of s, where it decodes to mostly
// printable UTF-8: data blobs and hashes decode to noise and are skipped.
func decodedRuns(s string) []string {
	var out []string
	for _, m := range base64Run.FindAllString(s, maxDecoded) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(m); err == nil {
				if textual(d) {
					out = append(out, string(d))
				}
				break
			}
		}
	}
	for _, m := range percentRun.FindAllString(s, maxDecoded) {
		if d, err := url.QueryUnescape(m); err == nil && textual([]byte(d)) {
			out = append(out, d)
		}
	}
	return out
}

// textual reports whether b is UTF-8 with at least 90% of its runes
// printable and either a space or some letters beyond ASCII (words, not
// an identifier; Chinese and Japanese have no spaces).
func textual(b []byte) bool {
	if len(b) < 8 || !utf8.Valid(b) {
		return false
	}
	n, ok, space, wide := 0, 0, false, 0
	for _, r := range string(b) {
		n++
		if unicode.IsPrint(r) || r == '\n' || r == '\t' {
			ok++
		}
		space = space || unicode.IsSpace(r)
		if r >= 0x80 && unicode.IsLetter(r) {
			wide++
		}
	}
	return (space || wide >= 3) && ok*10 >= n*9
}
