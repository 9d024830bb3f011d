package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/cputime"
	indexgen "github.com/sleuth-research/sleuth/internal/generation"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/dense"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

// denseReport is what `sleuth bench dense` measures.
type denseReport struct {
	Set          string  `json:"set"`
	Vectors      int     `json:"vectors"`
	Dim          int     `json:"dim"`
	Queries      int     `json:"queries"`
	K            int     `json:"k"`
	Lists        int     `json:"lists"`
	BuildSeconds float64 `json:"build_seconds"`
	DiskBytes    int64   `json:"disk_bytes"`
	FlatBytes    int64   `json:"flat_float32_bytes"`
	IndexRAM     int64   `json:"index_ram_bytes"`
	// AnonGrowth is the process's anonymous resident memory added by
	// opening the index and running the approximate queries (the codes);
	// FileGrowth the mapped file pages those queries touched (vectors read
	// for rescoring, passages), which the kernel may drop at will.
	AnonGrowth int64 `json:"rss_anon_growth_bytes"`
	FileGrowth int64 `json:"rss_file_growth_bytes"`
	// ExactQPS is single-thread exact search over the mapped float32
	// vectors (sleuth's own flat scan); CPU figures divide by process CPU
	// time, which a loaded machine does not inflate.
	ExactQPS    float64    `json:"exact_qps"`
	ExactQPSCPU float64    `json:"exact_qps_cpu"`
	Runs        []denseRun `json:"runs"`
	Notes       []string   `json:"notes,omitempty"`
	exact       [][]dense.Scored
}

// denseRun is one setting of the approximate search.
type denseRun struct {
	Probe   int     `json:"probe"`
	Rescore int     `json:"rescore"`
	Recall  float64 `json:"recall_at_k"`
	QPS     float64 `json:"qps"`
	QPSCPU  float64 `json:"qps_cpu"`
}

func newBenchDenseCmd() *cobra.Command {
	var (
		set, dir, export, probes string
		n, dim, clusters, q, k   int
		rescores                 string
		asJSON, reuse            bool
		emb                      denseFlags
	)
	cmd := &cobra.Command{
		Use:   "dense",
		Short: "Measure the dense index: recall@k against exact search, memory, and single-thread queries/s",
		Long: `bench dense builds a dense index over the shared e5 vectors (--set e5: each of
the 1,000 passages as a query, itself excluded) or a synthetic clustered set
(--set synthetic: --n vectors of --dim dimensions around --clusters centres,
the --queries held-out draws from the same clusters as queries), then
measures recall@k of the approximate search against exact inner-product
search, the index's resident memory against float32 flat, and single-thread
queries/s. --export writes the vectors and queries as raw float32 for the
FAISS and hnswlib peers in bench/dense.

--set hotpotqa measures retrieval instead: over the union of the shared
HotpotQA paragraphs, the share of the 400 questions whose two supporting
paragraphs are both in the top k, for BM25, dense, and their RRF and
weighted fusions. The dense side is --embed (a server or local:DIR), or by
default the committed random BERT (search/dense/bert/testdata/tiny, run
from the repository root), which checks the plumbing only: a random
encoder cannot help recall.`,
		Example: `  sleuth bench dense --set e5
  sleuth bench dense --set synthetic --n 200000 --queries 200 --probes 8,16,32,64
  sleuth bench dense --set synthetic --n 1000000 --queries 1000 --export /tmp/vecs   # the goal's size
  sleuth bench dense --set hotpotqa --embed http://127.0.0.1:8080/v1 --embed-model intfloat/e5-base-v2`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pl, err := parseInts(probes)
			if err != nil {
				return fmt.Errorf("--probes: %w", err)
			}
			rl, err := parseInts(rescores)
			if err != nil {
				return fmt.Errorf("--rescores: %w", err)
			}
			if dir == "" && !reuse {
				d, err := os.MkdirTemp("", "sleuth-bench-dense-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(d)
				dir = d
			}
			if set == "hotpotqa" {
				rep, ok, err := benchDenseHotpot(cmd.Context(), cmd, &emb, dir, k)
				if err != nil || !ok {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), rep)
				}
				printHotpotReport(cmd, rep)
				return nil
			}
			if reuse && (dir == "" || export == "") {
				return errors.New("bench dense: --reuse needs --dir (the index an earlier run built there) and --export (its queries)")
			}
			rep, err := benchDense(cmd.Context(), cmd, set, dir, export, n, dim, clusters, q, k, rl, pl, reuse)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printDenseReport(cmd, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&set, "set", "synthetic", "e5 (the shared wiki-18 e5 vectors), synthetic, or hotpotqa (retrieval recall of BM25, dense and hybrid)")
	f.IntVar(&n, "n", 100_000, "synthetic vectors")
	f.IntVar(&dim, "dim", 768, "synthetic dimension")
	f.IntVar(&clusters, "clusters", 1000, "synthetic cluster centres")
	f.IntVar(&q, "queries", 200, "synthetic queries")
	f.IntVarP(&k, "k", "k", 10, "neighbours per query")
	f.StringVar(&rescores, "rescores", "0", "comma-separated candidate counts rescored to measure (0: the index's default)")
	f.StringVar(&probes, "probes", "0", "comma-separated lists probed per query to measure (0: the index's default)")
	f.StringVar(&dir, "dir", "", "index directory (default: a temporary one, removed afterwards)")
	f.StringVar(&export, "export", "", "write base.f32, queries.f32 and meta.json here for the bench/dense peers")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&reuse, "reuse", false, "measure the index an earlier run left in --dir on the first --queries of the queries it exported to --export, without generating or building (build figures are then not reported)")
	emb.registerEmbed(f)
	return cmd
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// denseSet yields the set's base vectors and returns its queries; for e5
// the queries are the base vectors themselves (selfExcluded).
// queries is valid once base has been read.
func denseSet(set string, n, dim, clusters, q int) (base iter.Seq2[dense.Item, error], queries func() [][]float32, d int, selfExcluded bool, err error) {
	switch set {
	case "e5":
		fp, err := sharedFile("corpus/wiki18_sample_1000.e5.faissflat")
		if err != nil {
			return nil, nil, 0, false, err
		}
		ff, err := dense.OpenFAISSFlat(fp)
		if err != nil {
			return nil, nil, 0, false, err
		}
		vecs := make([][]float32, ff.Header.Count)
		for i := range vecs {
			vecs[i] = ff.Vector(i)
		}
		ff.Close()
		return itemSeq(func(yield func([]float32) bool) {
			for _, v := range vecs {
				if !yield(v) {
					return
				}
			}
		}), func() [][]float32 { return vecs }, ff.Header.Dim, true, nil
	case "synthetic":
		if n <= 0 || dim <= 0 || clusters <= 0 || q <= 0 {
			return nil, nil, 0, false, errors.New("bench dense: --n, --dim, --clusters and --queries must be positive")
		}
		// One stream: the first n draws are the base, the last q the
		// queries, collected while the build reads the base.
		qs := &[][]float32{}
		return itemSeq(func(yield func([]float32) bool) {
			i := 0
			for v := range densetest.ClusteredSeq(n+q, dim, clusters, 1) {
				if i >= n {
					*qs = append(*qs, v)
				} else if !yield(v) {
					return
				}
				i++
			}
		}), func() [][]float32 { return *qs }, dim, false, nil
	}
	return nil, nil, 0, false, fmt.Errorf("bench dense: --set %q: want e5 or synthetic", set)
}

func itemSeq(vecs iter.Seq[[]float32]) iter.Seq2[dense.Item, error] {
	return func(yield func(dense.Item, error) bool) {
		i := 0
		for v := range vecs {
			if !yield(dense.Item{Passage: corpus.Passage{ID: strconv.Itoa(i)}, Vector: v}, nil) {
				return
			}
			i++
		}
	}
}

func sharedFile(rel string) (string, error) {
	d := shareddata.Dir()
	if d == "" {
		return "", fmt.Errorf("shared data not found (../shared/data beside the repository, or $SLEUTH_SHARED_DATA); it holds %s", rel)
	}
	return filepath.Join(d, rel), nil
}

// settings pairs every probe count with every rescore count.
func settings(probes, rescores []int) [][2]int {
	var out [][2]int
	for _, p := range probes {
		for _, r := range rescores {
			out = append(out, [2]int{p, r})
		}
	}
	return out
}

func benchDense(ctx context.Context, cmd *cobra.Command, set, dir, export string, n, dim, clusters, q, k int, rescores, probes []int, reuse bool) (denseReport, error) {
	var (
		st      dense.Stats
		queries [][]float32
		d       int
		self    bool
		err     error
	)
	if reuse {
		if st, queries, self, err = reusedIndex(dir, export, q); err != nil {
			return denseReport{}, err
		}
		d = st.Dim
	} else {
		var base iter.Seq2[dense.Item, error]
		var queriesOf func() [][]float32
		base, queriesOf, d, self, err = denseSet(set, n, dim, clusters, q)
		if err != nil {
			return denseReport{}, err
		}
		var exp *exporter
		if export != "" {
			if exp, err = newExporter(export); err != nil {
				return denseReport{}, err
			}
			base = exp.tee(base)
		}
		fmt.Fprintf(stderr(cmd), "bench dense: building the index in %s…\n", dir)
		if st, err = dense.Build(ctx, dir, d, base, dense.BuildOptions{}); err != nil {
			return denseReport{}, err
		}
		queries = queriesOf()
		if exp != nil {
			if err := exp.finish(queries, st.Count, d, k, self); err != nil {
				return denseReport{}, err
			}
		}
	}
	rep := denseReport{Set: set, K: k, Dim: d}
	if reuse {
		rep.Notes = append(rep.Notes, "reused the index in "+dir+": build time not measured")
	}
	rep.Vectors, rep.Queries, rep.Lists = st.Count, len(queries), st.Lists
	rep.BuildSeconds, rep.DiskBytes, rep.FlatBytes, rep.IndexRAM = st.Elapsed.Seconds(), st.Bytes, int64(4*st.Count*d), st.RAMBytes
	// Let go of what the build held before measuring resident memory.
	runtime.GC()
	debug.FreeOSMemory()
	anon0, file0 := procStatus("RssAnon"), procStatus("RssFile")
	ix, err := dense.Open(dir)
	if err != nil {
		return rep, err
	}
	defer ix.Close()
	kq := k
	if self {
		kq = k + 1 // the query itself comes back first
	}
	drop := func(qi int, res []dense.Scored) []dense.Scored {
		if !self {
			return res
		}
		out := res[:0:0]
		for _, s := range res {
			if s.Doc != qi {
				out = append(out, s)
			}
		}
		return out[:min(k, len(out))]
	}
	type timed struct {
		res       [][]dense.Scored
		wall, cpu time.Duration
	}
	run := func(opt dense.SearchOptions) (timed, error) {
		var t timed
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		w0, c0 := time.Now(), cputime.Process()
		for qi, qv := range queries {
			res, err := ix.Search(qv, kq, opt)
			if err != nil {
				return t, err
			}
			t.res = append(t.res, drop(qi, res))
		}
		t.wall, t.cpu = time.Since(w0), cputime.Process()-c0
		return t, nil
	}
	var runs []timed
	for _, set := range settings(probes, rescores) {
		p, rescore := set[0], set[1]
		// An untimed pass first: the timed one then reads warm pages, as
		// a server does.
		if _, err := run(dense.SearchOptions{Probe: p, Rescore: rescore}); err != nil {
			return rep, err
		}
		t, err := run(dense.SearchOptions{Probe: p, Rescore: rescore})
		if err != nil {
			return rep, err
		}
		runs = append(runs, t)
		rp := p
		if rp == 0 {
			rp = max(8, st.Lists/8)
		}
		rs := rescore
		if rs == 0 {
			rs = max(100*kq, 1000)
		}
		rep.Runs = append(rep.Runs, denseRun{Probe: min(rp, st.Lists), Rescore: rs,
			QPS: float64(len(queries)) / t.wall.Seconds(), QPSCPU: float64(len(queries)) / t.cpu.Seconds()})
	}
	rep.AnonGrowth, rep.FileGrowth = procStatus("RssAnon")-anon0, procStatus("RssFile")-file0
	fmt.Fprintf(stderr(cmd), "bench dense: exact search for the ground truth…\n")
	ex, err := run(dense.SearchOptions{Exact: true})
	if err != nil {
		return rep, err
	}
	rep.ExactQPS, rep.ExactQPSCPU = float64(len(queries))/ex.wall.Seconds(), float64(len(queries))/ex.cpu.Seconds()
	for i, t := range runs {
		rep.Runs[i].Recall = recallAgainst(ex.res, t.res, k)
	}
	if self {
		rep.Notes = append(rep.Notes, "each passage is a query, itself excluded")
	}
	return rep, nil
}

// reusedIndex describes the index an earlier run built in dir and reads
// the first q queries it exported to export (all when q ≤ 0).
func reusedIndex(dir, export string, q int) (dense.Stats, [][]float32, bool, error) {
	var m struct {
		Dim  int  `json:"dim"`
		Self bool `json:"self_excluded"`
	}
	b, err := os.ReadFile(filepath.Join(export, "meta.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || m.Dim <= 0 {
		return dense.Stats{}, nil, false, fmt.Errorf("bench dense --reuse: %s/meta.json: %v", export, err)
	}
	qb, err := os.ReadFile(filepath.Join(export, "queries.f32"))
	if err != nil {
		return dense.Stats{}, nil, false, fmt.Errorf("bench dense --reuse: %w", err)
	}
	all := len(qb) / (4 * m.Dim)
	if q <= 0 || q > all {
		q = all
	}
	queries := make([][]float32, q)
	for i := range queries {
		v := make([]float32, m.Dim)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(qb[4*(i*m.Dim+j):]))
		}
		queries[i] = v
	}
	ix, err := dense.Open(dir)
	if err != nil {
		return dense.Stats{}, nil, false, err
	}
	defer ix.Close()
	if ix.Dim() != m.Dim {
		return dense.Stats{}, nil, false, fmt.Errorf("bench dense --reuse: index of dimension %d, queries of %d", ix.Dim(), m.Dim)
	}
	st := dense.Stats{Count: ix.Len(), Dim: ix.Dim(), Lists: ix.Lists(), RAMBytes: ix.ResidentBytes()}
	gdir, err := indexgen.Current(dir)
	if err != nil {
		return dense.Stats{}, nil, false, err
	}
	ents, _ := os.ReadDir(gdir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			st.Bytes += info.Size()
		}
	}
	return st, queries, m.Self, nil
}

// recallAgainst is the mean fraction of the exact top k found.
func recallAgainst(exact, got [][]dense.Scored, k int) float64 {
	hit, total := 0, 0
	for i := range exact {
		in := map[int]bool{}
		for _, s := range exact[i][:min(k, len(exact[i]))] {
			in[s.Doc] = true
		}
		total += len(in)
		for _, s := range got[i] {
			if in[s.Doc] {
				hit++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(hit) / float64(total)
}

// exporter writes base.f32 as the build reads the vectors, then
// queries.f32 and meta.json, for the Python peers.
type exporter struct {
	dir string
	f   *os.File
	buf []byte
	err error
}

func newExporter(dir string) (*exporter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "base.f32"))
	if err != nil {
		return nil, err
	}
	return &exporter{dir: dir, f: f}, nil
}

func (e *exporter) tee(base iter.Seq2[dense.Item, error]) iter.Seq2[dense.Item, error] {
	return func(yield func(dense.Item, error) bool) {
		for it, err := range base {
			if err == nil && e.err == nil {
				e.buf = appendFloats(e.buf[:0], it.Vector)
				_, e.err = e.f.Write(e.buf)
			}
			if !yield(it, err) {
				return
			}
		}
	}
}

func appendFloats(b []byte, v []float32) []byte {
	for _, x := range v {
		b = appendU32(b, math.Float32bits(x))
	}
	return b
}

func (e *exporter) finish(queries [][]float32, n, dim, k int, self bool) error {
	if err := e.f.Close(); e.err == nil {
		e.err = err
	}
	if e.err != nil {
		return fmt.Errorf("export %s: %w", e.dir, e.err)
	}
	var qb []byte
	for _, q := range queries {
		qb = appendFloats(qb, q)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "queries.f32"), qb, 0o644); err != nil {
		return err
	}
	meta, _ := json.Marshal(map[string]any{"n": n, "dim": dim, "queries": len(queries), "k": k, "self_excluded": self})
	return os.WriteFile(filepath.Join(e.dir, "meta.json"), meta, 0o644)
}

func printDenseReport(cmd *cobra.Command, r denseReport) {
	w := cmd.OutOrStdout()
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	fmt.Fprintf(w, "set               %s: %d vectors × %d, %d queries, top-%d, %d lists\n", r.Set, r.Vectors, r.Dim, r.Queries, r.K, r.Lists)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "                  (%s)\n", n)
	}
	fmt.Fprintf(w, "build             %.1f s\n", r.BuildSeconds)
	fmt.Fprintf(w, "memory            index %.1f MB in RAM = 1/%.1f of float32 flat (%.1f MB); %.1f MB on disk\n",
		mb(r.IndexRAM), float64(r.FlatBytes)/float64(r.IndexRAM), mb(r.FlatBytes), mb(r.DiskBytes))
	fmt.Fprintf(w, "                  opening and querying grew RSS by %.1f MB anonymous, %.1f MB of mapped file pages (page cache)\n", mb(r.AnonGrowth), mb(r.FileGrowth))
	fmt.Fprintf(w, "exact (flat)      %.1f q/s single thread (%.1f q/s of CPU time)\n", r.ExactQPS, r.ExactQPSCPU)
	for _, run := range r.Runs {
		fmt.Fprintf(w, "probe %-4d rescore %-5d recall@%d %.4f, %.1f q/s single thread (%.1f q/s of CPU), %.1fx exact\n",
			run.Probe, run.Rescore, r.K, run.Recall, run.QPS, run.QPSCPU, run.QPSCPU/r.ExactQPSCPU)
	}
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
