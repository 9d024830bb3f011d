package train

import (
	"strings"

	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/world"
)

// candidateReader answers from retrieved passages alone: every entity name
// and literal of the world is a candidate, scored by the reciprocal ranks of
// the passages mentioning it, skipping those the question already names.
// It is the floor a research agent must beat, not a model.
type candidateReader struct {
	cands []string
}

func newCandidateReader(w *world.World) *candidateReader {
	seen := map[string]bool{}
	r := &candidateReader{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			r.cands = append(r.cands, s)
		}
	}
	for _, e := range w.Entities {
		add(e.Name)
	}
	for _, f := range w.Facts {
		add(f.Value)
	}
	return r
}

// yesNo reports whether a question asks for yes or no.
func yesNo(q string) bool {
	first, _, _ := strings.Cut(q, " ")
	switch strings.ToLower(first) {
	case "is", "are", "was", "were", "did", "do", "does", "has", "have":
		return true
	}
	return false
}

// containsWord reports whether s contains w delimited by non-letters.
func containsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		off = i + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func (r *candidateReader) answer(question string, hits []search.Hit) string {
	if yesNo(question) {
		return "yes"
	}
	best, bestScore := "", 0.0
	for _, c := range r.cands {
		if containsWord(question, c) {
			continue
		}
		score := 0.0
		for rank, h := range hits[:min(5, len(hits))] {
			if containsWord(h.Passage.Text, c) {
				score += 1 / float64(rank+1)
			}
		}
		if score > bestScore || (score == bestScore && score > 0 && len(c) > len(best)) {
			best, bestScore = c, score
		}
	}
	return best
}
