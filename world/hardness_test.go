package world

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/sleuth-research/sleuth/corpus"
)

// bm25 is the plainest BM25 there is (k1=0.9, b=0.4 as in Pyserini;
// lowercase alphanumeric tokens; title and text indexed together), enough to
// measure how hard the world is for retrieval with the question alone.
type bm25 struct {
	postings map[string][]posting
	lens     []float64
	avg      float64
}

type posting struct{ doc, tf int }

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func newBM25(ps []corpus.Passage) *bm25 {
	ix := &bm25{postings: map[string][]posting{}, lens: make([]float64, len(ps))}
	var total float64
	for d, p := range ps {
		tf := map[string]int{}
		toks := tokens(p.Title + " " + p.Text)
		for _, tok := range toks {
			tf[tok]++
		}
		for tok, n := range tf {
			ix.postings[tok] = append(ix.postings[tok], posting{d, n})
		}
		ix.lens[d] = float64(len(toks))
		total += ix.lens[d]
	}
	ix.avg = total / float64(len(ps))
	return ix
}

// top returns the indices of the k best passages for query, best first
// (ties by index).
func (ix *bm25) top(query string, k int) []int {
	const k1, b = 0.9, 0.4
	n := float64(len(ix.lens))
	scores := make([]float64, len(ix.lens))
	var touched []int
	for _, tok := range tokens(query) {
		ps := ix.postings[tok]
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			tf := float64(p.tf)
			scores[p.doc] += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*ix.lens[p.doc]/ix.avg))
		}
	}
	better := func(x, y int) bool { return scores[x] > scores[y] || (scores[x] == scores[y] && x < y) }
	var best []int // kept sorted, at most k long
	for _, d := range touched {
		if len(best) == k && !better(d, best[k-1]) {
			continue
		}
		i := len(best)
		for i > 0 && better(d, best[i-1]) {
			i--
		}
		best = slices.Insert(best, i, d)
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}

func TestBM25Hand(t *testing.T) {
	t.Parallel()
	// Three one-line documents; "cat" is in two of them.
	ix := newBM25([]corpus.Passage{{ID: "a", Text: "cat dog"}, {ID: "b", Text: "cat cat bird"}, {ID: "c", Text: "fish"}})
	if got := ix.top("cat", 3); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("top(cat) = %v, want [1 0]", got)
	}
	if got := ix.top("fish bird", 1); len(got) != 1 {
		t.Fatalf("top(fish bird, 1) = %v", got)
	}
}

// TestHardness is the world's reason to exist: with the question alone,
// BM25 must find every gold passage for under half of the 3-hop questions,
// while each hop's own sub-query finds its passage (the world is solvable by
// searching step by step).
func TestHardness(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, Config{Seed: 1})
	ix := newBM25(w.Passages)
	pos := map[string]int{}
	for i, p := range w.Passages {
		pos[p.ID] = i
	}
	type tally struct{ n, all, hopHits, hopFirst, hops int }
	byShape := map[string]*tally{}
	for _, q := range w.Questions {
		key := q.Type + "/" + string(rune('0'+q.Hops))
		if byShape[key] == nil {
			byShape[key] = &tally{}
		}
		tl := byShape[key]
		tl.n++
		top := ix.top(q.Question, 10)
		found := true
		for _, id := range q.Supporting {
			found = found && slices.Contains(top, pos[id])
		}
		if found {
			tl.all++
		}
		for _, h := range q.Chain {
			tl.hops++
			top := ix.top(h.Query, 10)
			if slices.Contains(top, pos[h.PassageID]) {
				tl.hopHits++
			}
			if top[0] == pos[h.PassageID] {
				tl.hopFirst++
			}
		}
	}
	keys := make([]string, 0, len(byShape))
	for k := range byShape {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tl := byShape[k]
		t.Logf("%-12s %4d questions: all gold in the question's BM25 top 10 %5.1f%%; hop sub-query finds its passage in top 10 %5.1f%%, at rank 1 %5.1f%%",
			k, tl.n, 100*float64(tl.all)/float64(tl.n), 100*float64(tl.hopHits)/float64(tl.hops), 100*float64(tl.hopFirst)/float64(tl.hops))
	}
	if tl := byShape["chain/3"]; tl == nil || float64(tl.all) >= 0.5*float64(tl.n) {
		t.Errorf("3-hop questions are too easy for question-only retrieval: %+v", tl)
	}
	for _, k := range keys {
		if tl := byShape[k]; float64(tl.hopHits) < 0.6*float64(tl.hops) {
			t.Errorf("%s: sub-queries find their hop's passage only %d of %d times", k, tl.hopHits, tl.hops)
		}
	}
}
