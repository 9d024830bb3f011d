package zipf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWordsDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := 0; i < 100_000; i++ {
		w := Word(i)
		if j, ok := seen[w]; ok {
			t.Fatalf("Word(%d) = Word(%d) = %q", i, j, w)
		}
		seen[w] = i
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Passages: 50, Vocab: 1000, Seed: 7}
	collect := func() []string {
		var out []string
		for p := range Passages(cfg) {
			out = append(out, p.ID+"|"+p.Text)
		}
		return append(out, Queries(cfg, 20)...)
	}
	if d := cmp.Diff(collect(), collect()); d != "" {
		t.Fatalf("two runs differ (-first +second):\n%s", d)
	}
	other := cfg
	other.Seed = 8
	a, b := Queries(cfg, 5), Queries(other, 5)
	if cmp.Equal(a, b) {
		t.Fatalf("different seeds gave the same queries %q", a)
	}
}
