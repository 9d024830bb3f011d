package fetch

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func texts(segs []Segment) []string {
	var out []string
	for _, s := range segs {
		out = append(out, s.Text)
	}
	return out
}

func TestSegments(t *testing.T) {
	t.Parallel()
	text := "Alpha one two.\n\nBeta three four five.\n\nGamma six."
	cases := []struct {
		name    string
		size    int
		by      Unit
		overlap int
		want    []string
	}{
		{"all fits", 100, Chars, 0, []string{text}},
		{"paragraphs chars", 25, Chars, 0, []string{"Alpha one two.", "Beta three four five.", "Gamma six."}},
		{"pack two paragraphs", 40, Chars, 0, []string{"Alpha one two.\n\nBeta three four five.", "Gamma six."}},
		{"words", 6, Words, 0, []string{"Alpha one two.", "Beta three four five.\n\nGamma six."}},
		{"words small", 3, Words, 0, []string{"Alpha one two.", "Beta three four", "five.\n\nGamma six."}},
		{"sentence split", 12, Words, 0, []string{text}},
		{"hard word cut", 4, Chars, 0, []string{"Alph", "a", "one", "two.", "Beta", "thre", "e", "four", "five", ".", "Gamm", "a", "six."}},
		{"overlap words", 3, Words, 1, []string{"Alpha one two.", "two.\n\nBeta three four", "four five.\n\nGamma six."}},
		{"zero size", 0, Chars, 0, []string{text}},
		{"unknown unit counts chars", 25, Unit("tokens"), 0, []string{"Alpha one two.", "Beta three four five.", "Gamma six."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Segments(text, tc.size, tc.by, WithOverlap(tc.overlap))
			if diff := cmp.Diff(tc.want, texts(got)); diff != "" {
				t.Errorf("Segments (-want +got):\n%s", diff)
			}
			checkSegments(t, text, tc.size, tc.by, tc.overlap, got)
		})
	}
	if got := Segments(" \n\n ", 10, Chars); got != nil {
		t.Errorf("blank text gave %v", got)
	}
	sentences := "One two three. Four five six. Seven eight nine."
	if diff := cmp.Diff([]string{"One two three. Four five six.", "Seven eight nine."},
		texts(Segments(sentences, 6, Words))); diff != "" {
		t.Errorf("sentence packing (-want +got):\n%s", diff)
	}
}

// checkSegments asserts the invariants every segmentation keeps.
func checkSegments(t *testing.T, text string, size int, by Unit, overlap int, segs []Segment) {
	t.Helper()
	covered := make([]bool, len(text))
	prevStart := -1
	for i, s := range segs {
		if s.Index != i || s.Start < 0 || s.End > len(text) || s.Start >= s.End || text[s.Start:s.End] != s.Text {
			t.Fatalf("segment %d bad: %+v", i, s)
		}
		if s.Start <= prevStart {
			t.Fatalf("segment %d starts at %d, not after %d", i, s.Start, prevStart)
		}
		prevStart = s.Start
		if size > 0 {
			if by != Words {
				by = Chars
			}
			if m := measure(s.Text, by); m > size+overlap {
				t.Fatalf("segment %d has %d %s > %d+%d", i, m, by, size, overlap)
			}
		}
		for j := s.Start; j < s.End; j++ {
			covered[j] = true
		}
	}
	for i, r := range text {
		if !covered[i] && strings.TrimSpace(string(r)) != "" && r != utf8.RuneError {
			t.Fatalf("byte %d (%q) not in any segment", i, r)
		}
	}
}

func FuzzSegments(f *testing.F) {
	f.Add("Alpha one.\n\nBeta two three. Four!", 5, false, 1)
	f.Add("ünïcödé wörds ünd mörë\n\n\n\nx", 3, true, 0)
	f.Add(strings.Repeat("a", 50), 7, false, 2)
	f.Add("", 1, true, 3)
	f.Fuzz(func(t *testing.T, text string, size int, words bool, overlap int) {
		if !utf8.ValidString(text) || size > 1<<16 || overlap > 1<<10 {
			t.Skip()
		}
		by := Chars
		if words {
			by = Words
		}
		segs := Segments(text, size, by, WithOverlap(overlap))
		checkSegments(t, text, size, by, max(overlap, 0), segs)
	})
}
