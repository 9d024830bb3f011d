package dense

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/testchild"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

// crashBuildEnv makes the test binary a child that builds a large index
// into the named directory (see TestKilledBuildKeepsPreviousIndex).
const crashBuildEnv = "SLEUTH_DENSE_CRASH_BUILD_DIR"

func TestMain(m *testing.M) {
	testchild.Main(m, crashBuildEnv, func(dir string) error {
		_, err := Build(context.Background(), dir, 64, itemsOf(densetest.Clustered(60000, 64, 50, 9)), BuildOptions{})
		return err
	})
}

func itemsOf(vecs [][]float32) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for i, v := range vecs {
			p := corpus.Passage{ID: fmt.Sprint(i), Title: fmt.Sprintf("T%d", i), Text: fmt.Sprintf("passage %d", i)}
			if !yield(Item{Passage: p, Vector: v}, nil) {
				return
			}
		}
	}
}

func build(t testing.TB, vecs [][]float32, opt BuildOptions) *Index {
	t.Helper()
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, len(vecs[0]), itemsOf(vecs), opt); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// bruteForce ranks rows by float64 inner product, ties by lower row.
func bruteForce(vecs [][]float32, q []float32, k int) []int {
	type s struct {
		i int
		v float64
	}
	all := make([]s, len(vecs))
	for i, v := range vecs {
		var d float64
		for j := range v {
			d += float64(v[j]) * float64(q[j])
		}
		all[i] = s{i, d}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].v > all[b].v })
	out := make([]int, k)
	for i := range out {
		out[i] = all[i].i
	}
	return out
}

func docs(res []Scored) []int {
	out := make([]int, len(res))
	for i, r := range res {
		out[i] = r.Doc
	}
	return out
}

// TestExactMatchesBruteForce pins exact search to a float64 reference and
// hand-checks one score.
func TestExactMatchesBruteForce(t *testing.T) {
	t.Parallel()
	vecs := densetest.Clustered(500, 24, 5, 1)
	ix := build(t, vecs, BuildOptions{})
	for qi := range 20 {
		q := densetest.Clustered(1, 24, 1, uint64(100+qi))[0]
		res, err := ix.Search(q, 10, SearchOptions{Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(bruteForce(vecs, q, 10), docs(res)); diff != "" {
			t.Fatalf("query %d (-brute +exact):\n%s", qi, diff)
		}
	}
	// Three 2-d vectors: q=(1,2) scores 1·3+2·(−1)=1, 1·0+2·2=4, 1·1+2·1=3.
	ix = build(t, [][]float32{{3, -1}, {0, 2}, {1, 1}}, BuildOptions{})
	res, err := ix.Search([]float32{1, 2}, 3, SearchOptions{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Scored{{1, 4}, {2, 3}, {0, 1}}, res); diff != "" {
		t.Errorf("hand-computed scores (-want +got):\n%s", diff)
	}
}

// recallAt10 is the mean overlap of approximate and exact top 10.
func recallAt10(t testing.TB, ix *Index, queries [][]float32, opt SearchOptions) float64 {
	hit := 0
	for _, q := range queries {
		ex, _ := ix.Search(q, 10, SearchOptions{Exact: true})
		ap, err := ix.Search(q, 10, opt)
		if err != nil {
			t.Fatal(err)
		}
		in := map[int]bool{}
		for _, s := range ex {
			in[s.Doc] = true
		}
		for _, s := range ap {
			if in[s.Doc] {
				hit++
			}
		}
	}
	return float64(hit) / float64(10*len(queries))
}

func TestApproximateRecall(t *testing.T) {
	t.Parallel()
	// Queries are held-out draws from the same clusters.
	all := densetest.Clustered(20050, 128, 10, 2)
	vecs, queries := all[:20000], all[20000:]
	ix := build(t, vecs, BuildOptions{})
	for _, tc := range []struct {
		opt  SearchOptions
		want float64
	}{
		{SearchOptions{}, 0.95},
		{SearchOptions{Probe: 1000}, 0.95}, // every list
		{SearchOptions{QueryBits: 2, Rescore: 1000}, 0.95},
		{SearchOptions{QueryBits: 1, Rescore: 1000}, 0.9},
	} {
		r := recallAt10(t, ix, queries, tc.opt)
		t.Logf("%+v: recall@10 %.3f", tc.opt, r)
		if r < tc.want {
			t.Errorf("%+v: recall@10 %.3f, want ≥ %.2f", tc.opt, r, tc.want)
		}
	}
	// A scan that keeps too few candidates must lose recall: the test
	// would not notice a code scan that ignored the codes otherwise.
	if r := recallAt10(t, ix, queries, SearchOptions{Rescore: 10, QueryBits: 1}); r > 0.9 {
		t.Errorf("recall %.3f with 10 candidates from 1-bit queries: the scan is not approximate?", r)
	}
	// Probing one list of ~141 must lose neighbours in other lists.
	if r := recallAt10(t, ix, queries, SearchOptions{Probe: 1, Rescore: 5000}); r > 0.9 {
		t.Errorf("recall %.3f probing one list: are lists probed at all?", r)
	}
}

func TestPassagesAndStats(t *testing.T) {
	t.Parallel()
	vecs := densetest.Clustered(100, 10, 3, 3)
	dir := t.TempDir()
	st, err := Build(context.Background(), dir, 10, itemsOf(vecs), BuildOptions{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 100 || st.Dim != 10 || st.RAMBytes != residentBytes(100, 10, 1) {
		t.Errorf("stats %+v", st)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	p, err := ix.Passage(42)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(corpus.Passage{ID: "42", Title: "T42", Text: "passage 42"}, p); diff != "" {
		t.Error(diff)
	}
	if _, err := ix.Passage(100); err == nil {
		t.Error("Passage(100) of 100 succeeded")
	}
	// A normalised index normalises the query: scaling it changes nothing.
	q := append([]float32(nil), vecs[7]...)
	for i := range q {
		q[i] *= 5
	}
	res, _ := ix.Search(q, 1, SearchOptions{Exact: true})
	if res[0].Doc != 7 || math.Abs(float64(res[0].Score)-1) > 1e-5 {
		t.Errorf("self search %+v, want row 7 with cosine 1", res)
	}
	if _, err := ix.Search(q[:3], 1, SearchOptions{}); err == nil {
		t.Error("a query of the wrong dimension succeeded")
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, 2, itemsOf([][]float32{{1, 2}}), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, items := range map[string]iter.Seq2[Item, error]{
		"dimension": itemsOf([][]float32{{1, 2}, {1, 2, 3}}),
		"nan":       itemsOf([][]float32{{1, float32(math.NaN())}}),
		"source error": func(yield func(Item, error) bool) {
			yield(Item{}, errors.New("line 3: malformed"))
		},
	} {
		if _, err := Build(context.Background(), dir, 2, items, BuildOptions{}); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, dir, 2, itemsOf(densetest.Clustered(5000, 2, 2, 1)), BuildOptions{}); err == nil {
		t.Error("Build with a cancelled context succeeded")
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Len() != 1 {
		t.Errorf("after failed builds the index has %d vectors, want the previous 1", ix.Len())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("failed builds left %d entries, want CURRENT and one generation", len(ents))
	}
}

func TestOpenRejectsCorruption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, content, want string }{
		{codesFile, "short", "codes.bin"},
		{metaFile, "{", "meta.json"},
		{offsetsFile, strings.Repeat("\xff", 8*4), "docs.off"},
		{vectorsFile, "", "vectors.f32"},
	} {
		dir := t.TempDir()
		if _, err := Build(context.Background(), dir, 4, itemsOf(densetest.Clustered(3, 4, 1, 1)), BuildOptions{}); err != nil {
			t.Fatal(err)
		}
		gdir, _ := filepath.Glob(filepath.Join(dir, "gen-*"))
		if err := os.WriteFile(filepath.Join(gdir[0], tc.file), []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("corrupt %s: Open err = %v", tc.file, err)
		}
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open of an empty directory succeeded")
	}
}

// TestKilledBuildKeepsPreviousIndex kills builds at several points; the
// directory must always open on a complete index.
func TestKilledBuildKeepsPreviousIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns builds")
	}
	dir := t.TempDir()
	small := densetest.Clustered(50, 64, 5, 4)
	if _, err := Build(context.Background(), dir, 64, itemsOf(small), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	old := func() []Scored {
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		res, _ := ix.Search(small[3], 5, SearchOptions{})
		return res
	}()
	completed := 0
	for i, delay := range []time.Duration{0, 50, 150, 300, 600, 1200} {
		cmd := testchild.Command(crashBuildEnv, dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		if cmd.Wait() == nil {
			completed++
		}
		ix, err := Open(dir)
		if err != nil {
			t.Fatalf("kill %d: Open after a killed build: %v", i, err)
		}
		n := ix.Len()
		got, _ := ix.Search(small[3], 5, SearchOptions{})
		ix.Close()
		switch n {
		case 50:
			if diff := cmp.Diff(old, got); diff != "" {
				t.Fatalf("kill %d: previous index answers differently:\n%s", i, diff)
			}
		case 60000: // published before the kill: start again
			if _, err := Build(context.Background(), dir, 64, itemsOf(small), BuildOptions{}); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("kill %d: index has %d vectors", i, n)
		}
	}
	if _, err := Build(context.Background(), dir, 64, itemsOf(small), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("after a clean build the directory holds %d entries, want CURRENT and one generation", len(ents))
	}
	t.Logf("%d of 6 child builds finished before the kill", completed)
}
