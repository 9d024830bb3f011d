package corpus

import (
	"maps"
	"strconv"
	"unicode"
)

// Chunk splits a passage into windows of at most maxWords whitespace-separated
// words, consecutive windows sharing overlap words. Chunks keep the title,
// slice the original text (so inner whitespace and newlines survive), are
// numbered "ID#0", "ID#1", ..., and carry Meta["parent_id"] = p.ID. A passage
// that already fits (or maxWords <= 0) is returned unchanged, so chunking a
// chunked corpus again is a no-op. overlap is clamped to [0, maxWords-1].
func Chunk(p Passage, maxWords, overlap int) []Passage {
	if maxWords <= 0 {
		return []Passage{p}
	}
	words := wordSpans(p.Text)
	if len(words) <= maxWords {
		return []Passage{p}
	}
	overlap = max(0, min(overlap, maxWords-1))
	step := maxWords - overlap
	var out []Passage
	for start := 0; ; start += step {
		end := min(start+maxWords, len(words))
		meta := maps.Clone(p.Meta)
		if meta == nil {
			meta = make(map[string]string, 1)
		}
		meta["parent_id"] = p.ID
		out = append(out, Passage{
			ID:    p.ID + "#" + strconv.Itoa(len(out)),
			Title: p.Title,
			Text:  p.Text[words[start][0]:words[end-1][1]],
			Meta:  meta,
		})
		if end == len(words) {
			return out
		}
	}
}

// wordSpans returns the [start, end) byte offsets of the words of s.
func wordSpans(s string) [][2]int {
	var spans [][2]int
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) {
			if start >= 0 {
				spans = append(spans, [2]int{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		spans = append(spans, [2]int{start, len(s)})
	}
	return spans
}
