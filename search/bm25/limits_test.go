package bm25

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
)

// wideIndex has 40,000 distinct words, 20 to a passage.
func wideIndex(t *testing.T) (*Index, []string) {
	t.Helper()
	var words []string
	var ps []corpus.Passage
	for p := range 2000 {
		var b strings.Builder
		for w := range 20 {
			word := fmt.Sprintf("w%dx%d", p, w)
			words = append(words, word)
			fmt.Fprintf(&b, "%s common ", word)
		}
		ps = append(ps, corpus.Passage{ID: fmt.Sprint(p), Text: b.String()})
	}
	return buildTest(t, ps, BuildOptions{}), words
}

func TestHugeQueryIsBounded(t *testing.T) {
	ix, words := wideIndex(t)
	q := strings.Join(words, " ") // 40,000 distinct terms
	start := time.Now()
	got := ix.TopK(q, 5)
	// Today's code spent seconds and 650 MB of scratch here; the cap of
	// MaxQueryTerms makes it a few milliseconds.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("40,000-term query took %v", d)
	}
	want := ix.TopK(strings.Join(words[:MaxQueryTerms], " "), 5)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("terms past the cap changed the result:\n got %v\nwant %v", got, want)
	}
	// Repeats of kept terms still count, however many there are.
	rep := strings.Repeat(words[0]+" ", 40_000) + words[1]
	ss := ix.getSearcher()
	defer ix.searcher.Put(ss)
	terms := ix.analyse(ss, rep)
	if len(terms) != 2 || terms[0].qtf != 40_000 || terms[1].qtf != 1 {
		t.Errorf("analyse of a repeated term: %d terms, qtf %v", len(terms), terms)
	}
}

func TestScoringStopsWhenCancelled(t *testing.T) {
	ix := buildTest(t, zipfPassages(3000), BuildOptions{})
	ss := ix.getSearcher()
	defer ix.searcher.Put(ss)
	ps := zipfPassages(3000)
	q := strings.Join(strings.Fields(ps[0].Text)[:5], " ")
	terms := ix.analyse(ss, q)
	if len(terms) == 0 {
		t.Fatal("no query terms in the index")
	}
	if got := ss.maxScore(ix.sc, terms, 5, 0, ix.meta.Passages, nil); len(got) == 0 {
		t.Fatal("no results without cancellation")
	}
	done := make(chan struct{})
	close(done)
	if got := ss.maxScore(ix.sc, terms, 5, 0, ix.meta.Passages, done); got != nil {
		t.Errorf("maxScore with done closed returned %v, want nil", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Search(ctx, []string{q}, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("Search with a cancelled context: %v", err)
	}
}
