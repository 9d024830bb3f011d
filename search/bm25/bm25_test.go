package bm25

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
)

func seqOf(ps []corpus.Passage) iter.Seq2[corpus.Passage, error] {
	return func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func buildTest(t testing.TB, ps []corpus.Passage, opt BuildOptions) *Index {
	t.Helper()
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(ps), opt); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func zipfPassages(n int) []corpus.Passage {
	var ps []corpus.Passage
	for p := range zipf.Passages(zipf.Config{Passages: n, Vocab: 5000, MeanWords: 40}) {
		ps = append(ps, p)
	}
	return ps
}

// TestScoreHandComputed pins idf, the tf part and the score to numbers
// worked out by hand (see the comments) on a three-passage corpus.
func TestScoreHandComputed(t *testing.T) {
	t.Parallel()
	ix := buildTest(t, []corpus.Passage{
		{ID: "d0", Text: "the quick brown fox"},       // dl 4
		{ID: "d1", Text: "the lazy dog"},              // dl 3
		{ID: "d2", Text: "the quick dog jumps quick"}, // dl 5; avgdl = 12/3 = 4
	}, BuildOptions{})
	// N=3. "quick": df=2, idf = ln(1 + (3-2+0.5)/(2+0.5)) = ln 1.6.
	// d2: tf=2, norm = 0.9*(1 - 0.4 + 0.4*5/4) = 0.99,
	// tf part = 2*1.9/(2+0.99) = 1.2709030100334446, score 0.5973290271350485.
	// d0: tf=1, norm = 0.9, tf part = 1, score = ln 1.6.
	// "the": df=3, idf = ln(1 + 0.5/3.5) = 0.13353139262452257.
	// "quick dog" on d2: dog tf=1, tf part 1.9/1.99; total 1.0460762108370072.
	for _, tc := range []struct {
		name, query string
		wantIDF     float64
		want        map[string]float64
	}{
		{"idf and tf part", "quick", 0.47000362924573563, map[string]float64{"d2": 0.5973290271350485, "d0": 0.47000362924573563}},
		{"common term", "the", 0.13353139262452257, nil},
		{"two terms", "quick dog", 0.47000362924573563, map[string]float64{"d2": 1.0460762108370072}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ix.getSearcher()
			terms := ix.analyse(s, tc.query)
			if got := float64(terms[0].idf); math.Abs(got-tc.wantIDF) > 1e-6 {
				t.Errorf("idf = %v, want %v", got, tc.wantIDF)
			}
			hits := ix.TopK(tc.query, 3)
			for id, want := range tc.want {
				found := false
				for _, h := range hits {
					if ix.ID(h.Doc) == id {
						found = true
						if math.Abs(float64(h.Score)-want) > 1e-6 {
							t.Errorf("score(%s) = %v, want %v", id, h.Score, want)
						}
						ex, err := ix.Explain(tc.query, h.Doc)
						if err != nil || ex.Score != h.Score {
							t.Errorf("explain score %v (err %v), search %v", ex.Score, err, h.Score)
						}
					}
				}
				if !found {
					t.Errorf("%s not found in %v", id, hits)
				}
			}
		})
	}
	ex, _ := ix.Explain("quick", 2)
	for _, want := range []string{"ln(1 + (N - df + 0.5)/(df + 0.5))", "idf 0.470004", "tf-part 1.2709", "total 0.597329"} {
		if !strings.Contains(ex.Text, want) {
			t.Errorf("Explain text lacks %q:\n%s", want, ex.Text)
		}
	}
}

func TestAnalyzer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  AnalyzerConfig
		in   string
		want []string
	}{
		{"ascii", AnalyzerConfig{}, "Hello, World! 42x", []string{"hello", "world", "42x"}},
		{"accents", AnalyzerConfig{}, "Café Ångström naïve", []string{"cafe", "angstrom", "naive"}},
		{"combining mark", AnalyzerConfig{}, "Cafe\u0301 ok", []string{"cafe", "ok"}},
		{"non-latin", AnalyzerConfig{}, "Ελλάδα Москва 東京", []string{"ελλαδα", "москва", "東京"}},
		// Vowel signs are spacing marks: they stay in their word (the
		// virama, a nonspacing mark, is folded away like an accent).
		{"spacing marks", AnalyzerConfig{}, "हिन्दी भाषा", []string{"हिनदी", "भाषा"}},
		{"stopwords", AnalyzerConfig{Stopwords: true}, "The cat and the hat", []string{"cat", "hat"}},
		{"stem", AnalyzerConfig{Stem: true}, "running runs connected", []string{"run", "run", "connect"}},
		{"empty", AnalyzerConfig{}, " ,.; ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.cfg.Terms(tc.in)); diff != "" {
				t.Errorf("Terms(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// plainCorpus holds term counts for plainBM25.
type plainCorpus struct {
	docs []map[string]int
	lens []int
	df   map[string]int
	avg  float64
}

func newPlainCorpus(ps []corpus.Passage, cfg AnalyzerConfig) *plainCorpus {
	c := &plainCorpus{df: map[string]int{}}
	total := 0
	for _, p := range ps {
		d := map[string]int{}
		n := 0
		for _, t := range append(cfg.Terms(p.Title), cfg.Terms(p.Text)...) {
			d[t]++
			n++
		}
		for t := range d {
			c.df[t]++
		}
		c.docs, c.lens = append(c.docs, d), append(c.lens, n)
		total += n
	}
	c.avg = float64(total) / float64(len(ps))
	return c
}

// plainBM25 scores with the textbook formula in float64, straight from
// term counts: the independent reference for the index's scores.
func (c *plainCorpus) plainBM25(cfg AnalyzerConfig, p Params, query string) map[int]float64 {
	n := float64(len(c.docs))
	out := map[int]float64{}
	for _, q := range cfg.Terms(query) {
		df := float64(c.df[q])
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for i, d := range c.docs {
			if tf := float64(d[q]); tf > 0 {
				out[i] += idf * tf * (p.K1 + 1) / (tf + p.K1*(1-p.B+p.B*float64(c.lens[i])/c.avg))
			}
		}
	}
	return out
}

func TestMatchesPlainBM25(t *testing.T) {
	t.Parallel()
	ps := zipfPassages(500)
	for i := range ps {
		if i%7 == 0 {
			ps[i].Title = "Special title number " + ps[i].ID
		}
	}
	pc := newPlainCorpus(ps, AnalyzerConfig{})
	for _, p := range []Params{{}, {K1: 1.2, B: 0.75}, {K1: 2, B: 0}} {
		ix := buildTest(t, ps, BuildOptions{BM25: p})
		rp, _ := p.resolve()
		for _, q := range append(zipf.Queries(zipf.Config{Vocab: 5000}, 50), "special title ka ka", "number 7") {
			ref := pc.plainBM25(AnalyzerConfig{}, rp, q)
			got := ix.TopK(q, len(ps))
			if len(got) != len(ref) {
				t.Fatalf("%q: %d hits, reference %d", q, len(got), len(ref))
			}
			for _, h := range got {
				if d := math.Abs(float64(h.Score) - ref[int(h.Doc)]); d > 1e-4 {
					t.Fatalf("%q doc %d: score %v, reference %v", q, h.Doc, h.Score, ref[int(h.Doc)])
				}
			}
		}
	}
}

// TestPrunedEqualsExhaustive checks that MaxScore returns exactly the
// exhaustive top k (ids, scores and tie order) on thousands of queries.
func TestPrunedEqualsExhaustive(t *testing.T) {
	t.Parallel()
	ps := zipfPassages(20000)
	ix := buildTest(t, ps, BuildOptions{})
	qs := zipf.Queries(zipf.Config{Vocab: 5000}, 2000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 { // repeated terms and more terms than usual
		qs = append(qs, qs[i]+" "+strings.Fields(qs[i])[0]+" "+qs[r.IntN(len(qs))])
	}
	qs = append(qs, "ka", "ka lo", "nosuchterm", "")
	layered := 0
	for id := range ix.NumTerms() {
		if p, _ := ix.termPostings(id, false); p.hi.df > 0 {
			layered++
		}
	}
	if layered < 10 {
		t.Fatalf("only %d terms have a high layer: the test does not exercise layered maxScore", layered)
	}
	if ix.sc.codes == nil {
		t.Fatal("the passages have too many distinct lengths to test one-byte norms")
	}
	for i, q := range qs {
		k := []int{1, 10, 10, 100}[i%4]
		got, want := ix.TopK(q, k), ix.TopKExhaustive(q, k)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("query %q k=%d: pruned differs from exhaustive (-want +got):\n%s", q, k, diff)
		}
	}
}

func TestStoredPassages(t *testing.T) {
	t.Parallel()
	ps := zipfPassages(100)
	ps[3].Meta = map[string]string{"q": "x", "a": "ünï"}
	ps[5].Title = ""
	ix := buildTest(t, ps, BuildOptions{Analyzer: AnalyzerConfig{Stem: true, Stopwords: true}})
	for i, want := range ps {
		got, err := ix.Passage(uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("passage %d (-want +got):\n%s", i, diff)
		}
	}
	hits, err := ix.Search(context.Background(), []string{ps[7].Text, "zzz"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || len(hits[0]) == 0 || hits[0][0].Passage.ID != ps[7].ID || len(hits[1]) != 0 {
		t.Errorf("Search = %+v", hits)
	}
	if got := ix.Analyzer(); got != (AnalyzerConfig{Stem: true, Stopwords: true}) {
		t.Errorf("recorded analyzer %+v", got)
	}
}

// FuzzAnalyzer checks that any input analyses without panicking into
// non-empty terms that analyse to themselves.
func FuzzAnalyzer(f *testing.F) {
	for _, s := range []string{"Hello, World!", "Café Ångström", "Ελλάδα 東京 \xff\xfe", "running the tests", "Cafe\u0301", "ᬌ0", "हिन्दी भाषा"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, cfg := range []AnalyzerConfig{{}, {Stem: true, Stopwords: true}} {
			for _, term := range cfg.Terms(s) {
				if term == "" {
					t.Fatalf("empty term from %q", s)
				}
				if again := (AnalyzerConfig{}).Terms(term); len(again) != 1 || again[0] != term {
					t.Fatalf("term %q of %q re-analyses to %q", term, s, again)
				}
			}
		}
	})
}

// TestHighLayer checks the build's split of a list: the layer holds exactly
// the postings weighing more than the cut, in doc order, about 1/hiFrac of
// them, and kthLargest32 agrees with sorting.
func TestHighLayer(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 100, hiMin, 3 * hiMin} {
		docs, tfs, ws := make([]uint32, n), make([]uint32, n), make([]float32, n)
		for i := range n {
			docs[i], tfs[i] = uint32(3*i+1), uint32(1+r.IntN(4))
			ws[i] = float32(r.IntN(50)) / 7 // many ties
		}
		sorted := slices.Clone(ws)
		slices.Sort(sorted)
		for _, k := range []int{1, n / 2, n} {
			if k < 1 {
				continue
			}
			if got, want := kthLargest32(slices.Clone(ws), k), sorted[n-k]; got != want {
				t.Errorf("n=%d: kthLargest32(k=%d) = %v, want %v", n, k, got, want)
			}
		}
		hd, ht, hw, cut := highLayer(docs, tfs, ws, &encScratch{})
		if n < hiMin {
			if hd != nil {
				t.Errorf("n=%d: a list below hiMin got a high layer", n)
			}
			continue
		}
		if len(hd) == 0 || len(hd) > n/hiFrac {
			t.Errorf("n=%d: high layer holds %d postings, want 1..%d", n, len(hd), n/hiFrac)
		}
		j := 0
		for i, w := range ws {
			if w > cut {
				if j >= len(hd) || hd[j] != docs[i] || ht[j] != tfs[i] || hw[j] != w {
					t.Fatalf("n=%d: posting %d (weight %v > cut %v) missing from the layer", n, i, w, cut)
				}
				j++
			}
		}
		if j != len(hd) {
			t.Errorf("n=%d: layer has %d postings, %d weigh more than the cut", n, len(hd), j)
		}
	}
}

// TestPackRoundTrip checks unpack (both its fast and its word-by-word
// path) against pack at every width and block length.
func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for w := 0; w <= 32; w++ {
		for _, n := range []int{1, 2, 3, 63, 64, 65, 127, blockSize} {
			vals := make([]uint32, n)
			for i := range vals {
				if w > 0 {
					vals[i] = uint32(r.Uint64() & (1<<w - 1))
				}
			}
			src := pack(nil, vals, w)
			if len(src) != packedLen(n, w) {
				t.Fatalf("w=%d n=%d: packed %d bytes, want %d", w, n, len(src), packedLen(n, w))
			}
			got := make([]uint32, n)
			unpack(got, src, w)
			if diff := cmp.Diff(vals, got); diff != "" {
				t.Fatalf("w=%d n=%d: unpack differs (-want +got):\n%s", w, n, diff)
			}
		}
	}
}

// TestDenseTF builds terms whose dense tf arrays take 4 bits (with a few
// capped tfs that probes must look up in the blocks) and 8 bits, checks
// the arrays against the postings, and pruned search against exhaustive
// on queries that probe them.
func TestDenseTF(t *testing.T) {
	t.Parallel()
	const n = 6000
	r := rand.New(rand.NewPCG(9, 10))
	ps := make([]corpus.Passage, n)
	for i := range ps {
		var b strings.Builder
		word := func(w string, tf int) {
			for range tf {
				b.WriteString(w + " ")
			}
		}
		word("wide", 1+i%20)     // many tfs >= 15: 8 bits
		word("nib", 1+r.IntN(3)) // 4 bits ...
		if i%97 == 0 {
			word("nib", 16+r.IntN(300)) // ... with a few capped, one past 255
		}
		if i%4 != 0 {
			word("some", 1+r.IntN(4))
		}
		word(fmt.Sprintf("filler%d", r.IntN(400)), 1+r.IntN(30))
		word(fmt.Sprintf("pad%d", i%50), i%400) // > 256 distinct lengths: float32 norms
		ps[i] = corpus.Passage{ID: fmt.Sprint(i), Text: b.String()}
	}
	ix := buildTest(t, ps, BuildOptions{})
	if ix.sc.codes != nil {
		t.Fatal("the passages have too few distinct lengths to test float32 norms")
	}
	for _, tc := range []struct {
		term string
		bits int
	}{{"wide", 8}, {"nib", 4}, {"some", 4}} {
		s := ix.getSearcher()
		terms := ix.analyse(s, tc.term)
		ix.searcher.Put(s)
		if len(terms) != 1 {
			t.Fatalf("%s: not indexed", tc.term)
		}
		p := terms[0].p
		if got := 8 >> p.dense.shift; p.dense.b == nil || got != tc.bits {
			t.Fatalf("%s: dense tf array of %d bits (present %v), want %d", tc.term, got, p.dense.b != nil, tc.bits)
		}
		want := make([]uint32, n)
		var blk block
		for bi := range p.lastDoc {
			if !blk.decodeDocs(&p.postingList, bi) {
				t.Fatal("decode")
			}
			for i := range blk.n {
				want[blk.docs[i]] = min(blk.tf(i), p.dense.mask)
			}
		}
		for d := range uint32(n) {
			if got := p.dense.get(d); got != want[d] {
				t.Fatalf("%s: dense tf of doc %d = %d, want %d", tc.term, d, got, want[d])
			}
		}
	}
	for _, q := range []string{"nib", "wide nib", "nib some", "some nib nib", "wide some nib filler3", "filler7 nib", "filler9 wide"} {
		for _, k := range []int{1, 10, 100} {
			if diff := cmp.Diff(ix.TopKExhaustive(q, k), ix.TopK(q, k)); diff != "" {
				t.Fatalf("query %q k=%d: pruned differs from exhaustive (-want +got):\n%s", q, k, diff)
			}
		}
	}
}

// TestScorerNorms checks that both representations of the length norms
// (one-byte codes for at most 256 distinct lengths, float32 otherwise)
// give the formula's values.
func TestScorerNorms(t *testing.T) {
	t.Parallel()
	p := Params{K1: 0.9, B: 0.4}
	for _, tc := range []struct {
		name     string
		distinct int
		codes    bool
	}{{"one", 1, true}, {"256", 256, true}, {"257", 257, false}, {"many", 5000, false}} {
		t.Run(tc.name, func(t *testing.T) {
			docLen := make([]uint32, 3*tc.distinct)
			for i := range docLen {
				docLen[i] = uint32(7 + (i*31)%tc.distinct)
			}
			s := newScorer(p, 100, docLen)
			if (s.codes != nil) != tc.codes {
				t.Fatalf("codes %v, want %v", s.codes != nil, tc.codes)
			}
			for d, dl := range docLen {
				if got, want := s.norm(uint32(d)), float32(p.K1*(1-p.B+p.B*float64(dl)/100)); got != want {
					t.Fatalf("norm of passage %d (dl %d) = %v, want %v", d, dl, got, want)
				}
			}
		})
	}
}

// TestOldFormatVersion checks that an index written in an older format
// version is refused with an error that says so.
func TestOldFormatVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(zipfPassages(50)), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	gdir, err := current(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(gdir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(data[8:], formatVersion-1)
	_, err = openBytes(data, true)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format version %d, this build reads %d", formatVersion-1, formatVersion)) {
		t.Fatalf("opening a version %d index: error %v, want one naming both versions", formatVersion-1, err)
	}
}
