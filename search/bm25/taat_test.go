package bm25

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// TestShortListPathsEqualExhaustive scores mid-frequency and content-word
// queries both term at a time and with maxScore, whichever TopK would
// choose, and checks each against exhaustive scoring.
func TestShortListPathsEqualExhaustive(t *testing.T) {
	t.Parallel()
	cfg := zipf.Config{Passages: 20000, Vocab: 5000, MeanWords: 40}
	ix := buildTest(t, zipfPassages(cfg.Passages), BuildOptions{})
	var qs []string
	for _, m := range zipf.Mixes {
		mc, err := cfg.WithMix(m)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, zipf.Queries(mc, 300)...)
	}
	qs = append(qs, "ka ka ka", qs[len(qs)-1]+" "+qs[len(qs)-1])
	s := ix.getSearcher()
	defer ix.searcher.Put(s)
	short := 0
	for i, q := range qs {
		k := []int{1, 10, 100}[i%3]
		want := ix.TopKExhaustive(q, k)
		terms := ix.analyse(s, q)
		if len(terms) == 0 {
			continue
		}
		if useTAAT(terms, ix.meta.Passages) {
			short++
		}
		if d := cmp.Diff(want, s.taat(ix.sc, terms, k, ix.meta.Passages)); d != "" {
			t.Fatalf("query %q k=%d: term at a time differs from exhaustive (-want +got):\n%s", q, k, d)
		}
		terms = ix.analyse(s, q)
		got := s.maxScore(ix.sc, terms, k, s.seed(ix.sc, terms, k), ix.meta.Passages, nil)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("query %q k=%d: maxScore differs from exhaustive (-want +got):\n%s", q, k, d)
		}
	}
	if short < 200 || short > len(qs)-200 {
		t.Fatalf("%d of %d queries take the term-at-a-time path: the test does not exercise both", short, len(qs))
	}
}
