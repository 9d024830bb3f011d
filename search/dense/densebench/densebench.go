// Package densebench measures the dense index (what `sleuth bench dense`
// reports): recall@k of the approximate search against exact search, its
// resident memory against float32 flat, and single-thread queries/s; and,
// over the shared HotpotQA questions, retrieval recall of BM25, dense and
// their fusions (Hotpot).
package densebench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/cputime"
	indexgen "github.com/sleuth-research/sleuth/internal/generation"
	"github.com/sleuth-research/sleuth/internal/procstat"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/dense"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

// Report is what Run measures.
type Report struct {
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
	ExactQPS    float64   `json:"exact_qps"`
	ExactQPSCPU float64   `json:"exact_qps_cpu"`
	Runs        []Setting `json:"runs"`
	Notes       []string  `json:"notes,omitempty"`
}

// Setting is one setting of the approximate search, measured.
type Setting struct {
	Probe   int     `json:"probe"`
	Rescore int     `json:"rescore"`
	Recall  float64 `json:"recall_at_k"`
	QPS     float64 `json:"qps"`
	QPSCPU  float64 `json:"qps_cpu"`
}

// Options say what Run builds and measures.
type Options struct {
	// Set is "e5" (the shared wiki-18 e5 vectors, each passage a query,
	// itself excluded) or "synthetic" (N vectors of Dim dimensions around
	// Clusters centres, Queries held-out draws as queries).
	Set                       string
	N, Dim, Clusters, Queries int
	K                         int
	// Dir is the index directory; Export, when set, receives base.f32,
	// queries.f32 and meta.json for the FAISS and hnswlib peers.
	Dir, Export string
	// Probes and Rescores are the settings measured, each pair of them
	// (0: the index's default).
	Probes, Rescores []int
	// Reuse measures the index an earlier run left in Dir on the first
	// Queries queries it exported to Export, without building.
	Reuse bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Run builds (or, with Reuse, opens) the index and measures it.
func Run(ctx context.Context, o Options) (Report, error) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	var (
		st      dense.Stats
		queries [][]float32
		d       int
		self    bool
		err     error
	)
	if o.Reuse {
		if st, queries, self, err = reusedIndex(o.Dir, o.Export, o.Queries); err != nil {
			return Report{}, err
		}
		d = st.Dim
	} else {
		var base iter.Seq2[dense.Item, error]
		var queriesOf func() [][]float32
		base, queriesOf, d, self, err = vectorSet(o.Set, o.N, o.Dim, o.Clusters, o.Queries)
		if err != nil {
			return Report{}, err
		}
		var exp *exporter
		if o.Export != "" {
			if exp, err = newExporter(o.Export); err != nil {
				return Report{}, err
			}
			base = exp.tee(base)
		}
		fmt.Fprintf(log, "bench dense: building the index in %s…\n", o.Dir)
		if st, err = dense.Build(ctx, o.Dir, d, base, dense.BuildOptions{}); err != nil {
			return Report{}, err
		}
		queries = queriesOf()
		if exp != nil {
			if err := exp.finish(queries, st.Count, d, o.K, self); err != nil {
				return Report{}, err
			}
		}
	}
	k := o.K
	rep := Report{Set: o.Set, K: k, Dim: d}
	if o.Reuse {
		rep.Notes = append(rep.Notes, "reused the index in "+o.Dir+": build time not measured")
	}
	rep.Vectors, rep.Queries, rep.Lists = st.Count, len(queries), st.Lists
	rep.BuildSeconds, rep.DiskBytes, rep.FlatBytes, rep.IndexRAM = st.Elapsed.Seconds(), st.Bytes, int64(4*st.Count*d), st.RAMBytes
	// Let go of what the build held before measuring resident memory.
	runtime.GC()
	debug.FreeOSMemory()
	anon0, file0 := procstat.Field("RssAnon"), procstat.Field("RssFile")
	ix, err := dense.Open(o.Dir)
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
	for _, set := range settings(o.Probes, o.Rescores) {
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
		rep.Runs = append(rep.Runs, Setting{Probe: min(rp, st.Lists), Rescore: rs,
			QPS: float64(len(queries)) / t.wall.Seconds(), QPSCPU: float64(len(queries)) / t.cpu.Seconds()})
	}
	rep.AnonGrowth, rep.FileGrowth = procstat.Field("RssAnon")-anon0, procstat.Field("RssFile")-file0
	fmt.Fprintf(log, "bench dense: exact search for the ground truth…\n")
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

// vectorSet yields the set's base vectors and returns its queries; for e5
// the queries are the base vectors themselves (selfExcluded).
// queries is valid once base has been read.
func vectorSet(set string, n, dim, clusters, q int) (base iter.Seq2[dense.Item, error], queries func() [][]float32, d int, selfExcluded bool, err error) {
	switch set {
	case "e5":
		fp, err := shareddata.File("corpus/wiki18_sample_1000.e5.faissflat")
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
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
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

// WriteText prints the report as `sleuth bench dense` shows it.
func (r Report) WriteText(w io.Writer) {
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
