package zipf

import (
	"strings"
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

// TestMidMixDocFractions counts, in a generated corpus, the passages each
// mid-mix query word occurs in: nearly all must be in 0.05%–2% of them.
func TestMidMixDocFractions(t *testing.T) {
	cfg, err := Config{Passages: 20_000}.WithMix(MixMid)
	if err != nil {
		t.Fatal(err)
	}
	df := map[string]int{}
	for p := range Passages(cfg) {
		seen := map[string]bool{}
		for _, w := range strings.Fields(p.Text) {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	in, all := 0, 0
	for _, q := range Queries(cfg, 300) {
		for _, w := range strings.Fields(q) {
			f := float64(df[w]) / float64(cfg.Passages)
			all++
			if f >= 0.0004 && f <= 0.022 { // sampling noise at 20,000 passages
				in++
			}
		}
	}
	if in < all*95/100 {
		t.Fatalf("%d of %d mid-mix query words are in 0.05%%–2%% of the passages (ranks %d–%d), want ≥ 95%%", in, all, cfg.QueryMinRank, cfg.QueryMaxRank)
	}
	if _, err := cfg.WithMix("bogus"); err == nil {
		t.Fatal("an unknown mix was accepted")
	}
}
