package bm25

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// searcher is the scratch one goroutine uses for one query at a time.
type searcher struct {
	an        *analyzer
	terms     []qterm
	cs        []cursor
	ess       []*cursor
	modes     []int
	probes    []probe
	ub        []float64
	heap      []Scored
	st        queryStats
	seedCands []seedCand
	seedSeen  []uint32
	seedOrder []int
	seedW     []float32
	seedBest  []Scored
	win       winScratch
	acc       []float32 // per passage, zero between queries (taat)
	touched   []uint32
	blk       block
}

// queryStats count the work of the last queries on a searcher (for
// tuning): maxScore candidates and blocks decoded.
type queryStats struct {
	cands, decodes int
}

func (ix *Index) getSearcher() *searcher {
	if s, ok := ix.searcher.Get().(*searcher); ok {
		if len(s.an.cache) > 1<<16 { // bound the stemming cache of long-lived servers
			s.an.cache = make(map[string][]byte)
		}
		return s
	}
	return &searcher{an: newAnalyzer(ix.meta.Analyzer)}
}

// MaxQueryTerms bounds the distinct terms of one query: the first
// MaxQueryTerms distinct terms found in the index are scored and later new
// ones ignored (repeats of kept ones still count). Pruning plans and the
// per-window scratch grow with the number of terms (4096 floats each), so
// an unbounded query is a denial of service; servers reject longer queries
// before they reach the index (server/retrieve).
const MaxQueryTerms = 256

// analyse returns the distinct query terms found in the index, in query
// order, each with its count in the query, at most MaxQueryTerms of them.
// It takes time linear in the query's length.
func (ix *Index) analyse(s *searcher, query string) []qterm { return ix.analyseKept(s, query, nil) }

// analyseKept is analyse keeping only the terms in keep, when keep is not
// nil (a sharded index passes the terms the whole corpus keeps).
func (ix *Index) analyseKept(s *searcher, query string, keep map[string]struct{}) []qterm {
	s.terms = s.terms[:0]
	ids := make([]int, 0, 8)
	var pos map[int]int // term id -> index in s.terms, once a linear scan gets long
	s.an.each(query, func(t []byte) {
		if keep != nil {
			if _, ok := keep[string(t)]; !ok {
				return
			}
		}
		id := ix.lookup(t)
		if id < 0 {
			return
		}
		if pos != nil {
			if i, ok := pos[id]; ok {
				s.terms[i].qtf++
				return
			}
		} else {
			for i, x := range ids {
				if x == id {
					s.terms[i].qtf++
					return
				}
			}
		}
		if len(ids) == MaxQueryTerms {
			return
		}
		p, _ := ix.termPostings(id, false)
		in := ix.info(id)
		ids = append(ids, id)
		s.terms = append(s.terms, qterm{p: p, idf: in.IDF, max: in.MaxScore, qtf: 1})
		if pos != nil {
			pos[id] = len(ids) - 1
		} else if len(ids) == 16 {
			pos = make(map[int]int, 32)
			for i, x := range ids {
				pos[x] = i
			}
		}
	})
	return s.terms
}

// cursors returns two cursors per term: on its full list at 2*qi and on
// its high layer at 2*qi+1 (p nil where it has none).
func (s *searcher) cursors(terms []qterm) []cursor {
	if cap(s.cs) < 2*len(terms) {
		s.cs = make([]cursor, 2*len(terms))
	}
	s.cs = s.cs[:2*len(terms)]
	for i := range terms {
		q := &terms[i]
		s.cs[2*i].reset(q, &q.p.postingList, i)
		if q.p.hi.df > 0 {
			s.cs[2*i+1].reset(q, &q.p.hi, i)
		} else {
			s.cs[2*i+1] = cursor{}
		}
	}
	return s.cs
}

// TopK returns the k best passages for query, best first (ties by lower
// doc), as internal passage numbers and scores, without fetching text.
func (ix *Index) TopK(query string, k int) []Scored {
	if k <= 0 {
		return nil
	}
	rs, _ := ix.topK(context.Background(), query, k, nil)
	return rs
}

// topK is TopK that gives up, with ctx's error, when ctx ends; it checks
// between windows of passages, so a long query stops within about a
// window's work.
//
// keep, when not nil, limits the query to those terms (see analyseKept).
func (ix *Index) topK(ctx context.Context, query string, k int, keep map[string]struct{}) ([]Scored, error) {
	if k <= 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := ix.getSearcher()
	defer ix.searcher.Put(s)
	terms := ix.analyseKept(s, query, keep)
	if len(terms) == 0 {
		return nil, nil
	}
	var rs []Scored
	if useTAAT(terms, ix.meta.Passages) {
		rs = s.taat(ix.sc, terms, k, ix.meta.Passages)
	} else {
		rs = s.maxScore(ix.sc, terms, k, s.seed(ix.sc, terms, k), ix.meta.Passages, ctx.Done())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

// TopKExhaustive scores every posting of the query's terms: slow, the
// reference TopK is tested and benchmarked against. Its results are
// identical to TopK's.
func (ix *Index) TopKExhaustive(query string, k int) []Scored {
	return ix.topKExhaustive(query, k, nil)
}

// topKExhaustive is TopKExhaustive keeping only the terms in keep, when
// keep is not nil (see analyseKept).
func (ix *Index) topKExhaustive(query string, k int, keep map[string]struct{}) []Scored {
	if k <= 0 {
		return nil
	}
	s := ix.getSearcher()
	defer ix.searcher.Put(s)
	terms := ix.analyseKept(s, query, keep)
	if len(terms) == 0 {
		return nil
	}
	return exhaustive(ix.sc, terms, k, ix.meta.Passages)
}

// SearchBatch runs TopK for every query on a bounded pool of GOMAXPROCS
// goroutines and returns the results in query order.
func (ix *Index) SearchBatch(ctx context.Context, queries []string, k int) ([][]Scored, error) {
	out := make([][]Scored, len(queries))
	err := parallel(ctx, len(queries), func(i int) error {
		var err error
		out[i], err = ix.topK(ctx, queries[i], k, nil)
		return err
	})
	return out, err
}

// Search implements search.Retriever: TopK and the stored passages of the
// hits, both on the SearchBatch pool.
func (ix *Index) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	err := parallel(ctx, len(queries), func(i int) error {
		rs, err := ix.topK(ctx, queries[i], k, nil)
		if err != nil {
			return err
		}
		out[i], err = hitsOf(rs, ix.Passage)
		return err
	})
	return out, err
}

// hitsOf turns scored documents into hits with their stored passages.
func hitsOf(rs []Scored, passage func(uint32) (corpus.Passage, error)) ([]search.Hit, error) {
	hits := make([]search.Hit, len(rs))
	for r, sc := range rs {
		p, err := passage(sc.Doc)
		if err != nil {
			return nil, err
		}
		hits[r] = search.Hit{Passage: p, Score: float64(sc.Score), Rank: r}
	}
	return hits, nil
}

// parallel calls fn(0..n-1) on min(GOMAXPROCS, n) goroutines, stopping at
// the first error or when ctx ends.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

var _ search.Retriever = (*Index)(nil)

// Explanation breaks a passage's score for a query into its BM25 terms.
type Explanation struct {
	Doc   uint32
	ID    string
	Score float32
	Text  string // the formula with its numbers, one line per term
}

// Explain returns how passage doc scores for query.
func (ix *Index) Explain(query string, doc uint32) (Explanation, error) {
	if int(doc) >= ix.meta.Passages {
		return Explanation{}, fmt.Errorf("explain: passage %d out of range (index has %d)", doc, ix.meta.Passages)
	}
	s := ix.getSearcher()
	defer ix.searcher.Put(s)
	terms := ix.analyse(s, query)
	p := ix.meta.BM25
	dl := ix.docLen[doc]
	n := ix.meta.Passages
	if ix.meta.Shard != nil { // idf and avgdl are the whole corpus's
		n = ix.meta.Shard.Passages
	}
	var b strings.Builder
	ex := Explanation{Doc: doc, ID: ix.ID(doc)}
	fmt.Fprintf(&b, "score = sum over query terms of qtf * idf * tf*(k1+1) / (tf + k1*(1 - b + b*dl/avgdl)), k1=%g b=%g dl=%d avgdl=%g N=%d\n",
		p.K1, p.B, dl, ix.meta.AvgDL, n)
	for _, q := range terms {
		var tf uint32
		var blk block
		for bi := range q.p.lastDoc {
			if q.p.lastDoc[bi] < doc {
				continue
			}
			if blk.decodeDocs(&q.p.postingList, bi) {
				for i := 0; i < blk.n; i++ {
					if blk.docs[i] == doc {
						tf = blk.tf(i)
					}
				}
			}
			break
		}
		if tf == 0 {
			continue
		}
		w := float32(q.qtf * ix.sc.weight(q.idf, tf, doc))
		ex.Score += w
		fmt.Fprintf(&b, "  %g * idf %.6g [ln(1 + (N - df + 0.5)/(df + 0.5)), df=%d] * tf-part %.6g [tf=%d] = %.6g\n",
			q.qtf, q.idf, q.p.df, w/(q.qtf*q.idf), tf, w)
	}
	fmt.Fprintf(&b, "  total %.6g", ex.Score)
	ex.Text = b.String()
	return ex, nil
}
