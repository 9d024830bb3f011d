package corpus

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChunk(t *testing.T) {
	t.Parallel()
	p := Passage{ID: "d", Title: "T", Text: "a b\nc  d e f g", Meta: map[string]string{"src": "x"}}
	chunk := func(i int, text string) Passage {
		return Passage{ID: "d#" + string(rune('0'+i)), Title: "T", Text: text, Meta: map[string]string{"src": "x", "parent_id": "d"}}
	}
	tests := []struct {
		name              string
		maxWords, overlap int
		want              []Passage
	}{
		{"fits", 7, 2, []Passage{p}},
		{"disabled", 0, 0, []Passage{p}},
		{"no overlap", 3, 0, []Passage{chunk(0, "a b\nc"), chunk(1, "d e f"), chunk(2, "g")}},
		{"overlap", 3, 1, []Passage{chunk(0, "a b\nc"), chunk(1, "c  d e"), chunk(2, "e f g")}},
		{"overlap clamped", 2, 5, []Passage{chunk(0, "a b"), chunk(1, "b\nc"), chunk(2, "c  d"), chunk(3, "d e"), chunk(4, "e f"), chunk(5, "f g")}},
		{"negative overlap", 4, -1, []Passage{chunk(0, "a b\nc  d"), chunk(1, "e f g")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Chunk(p, tt.maxWords, tt.overlap)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Chunk(%d, %d) (-want +got):\n%s", tt.maxWords, tt.overlap, diff)
			}
		})
	}
	if p.Meta["parent_id"] != "" {
		t.Error("Chunk modified the input's Meta")
	}
}

func TestChunkCoversEveryWord(t *testing.T) {
	t.Parallel()
	words := strings.Fields(strings.Repeat("lorem ipsum dolor sit amet ", 41))
	p := Passage{ID: "x", Text: strings.Join(words, " ")}
	for _, c := range []struct{ max, overlap int }{{100, 0}, {100, 20}, {7, 6}, {1, 0}} {
		chunks := Chunk(p, c.max, c.overlap)
		var n int
		for i, ch := range chunks {
			w := strings.Fields(ch.Text)
			if len(w) > c.max {
				t.Fatalf("chunk %d has %d words > %d", i, len(w), c.max)
			}
			if i > 0 {
				w = w[min(c.overlap, len(w)):]
			}
			n += len(w)
		}
		if n != len(words) {
			t.Errorf("Chunk(%d, %d) covers %d words, want %d", c.max, c.overlap, n, len(words))
		}
	}
}
