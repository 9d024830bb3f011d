// Package bm25bench measures the BM25 index (what `sleuth bench
// retrieval` reports): build time and memory over a streamed Zipf corpus,
// index size, and queries/s on each query mix against exhaustive scoring;
// and the real mix, HotpotQA questions over their own paragraphs, with
// their retrieval recall.
package bm25bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/internal/cputime"
	"github.com/sleuth-research/sleuth/internal/procstat"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// Report is what Run measures (`sleuth bench retrieval`).
type Report struct {
	Passages        int     `json:"passages"`
	K               int     `json:"k"`
	Cores           int     `json:"cores"`
	MemBudget       int64   `json:"mem_budget_bytes"`
	Shards          int     `json:"shards,omitempty"`
	GenerateSeconds float64 `json:"generate_seconds"`
	// GenerateTimed is how many passages generation was timed on;
	// GenerateSeconds scales that time to all the passages.
	GenerateTimed   int         `json:"generate_timed_passages"`
	BuildSeconds    float64     `json:"build_seconds"`
	BuildCPUSeconds float64     `json:"build_cpu_seconds"`
	BuildPeakRSS    int64       `json:"build_peak_rss_bytes"`
	Runs            int         `json:"runs"`
	IndexBytes      int64       `json:"index_bytes"`
	Terms           int         `json:"terms"`
	OpenMillis      float64     `json:"open_ms"`
	Mixes           []MixReport `json:"mixes"`
	// OpenRSS is VmRSS right after the index is opened (the build's
	// freed heap handed back to the OS first).
	OpenRSS int64 `json:"open_rss_bytes"`
	// RSSBytes is VmRSS after every mix's queries: serving memory.
	// RSSAnonBytes is the part the process owns (heap, stacks);
	// RSSFileBytes the mapped index pages it touched, which are the OS's
	// page cache and can be reclaimed under pressure.
	RSSBytes     int64 `json:"rss_bytes"`
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	RSSFileBytes int64 `json:"rss_file_bytes"`
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// MixReport is one query mix's figures.
type MixReport struct {
	Mix               zipf.Mix `json:"mix"`
	MinRank           int      `json:"min_rank"`
	MaxRank           int      `json:"max_rank,omitempty"`
	Queries           int      `json:"queries"`
	QPSSingle         float64  `json:"qps_single_thread"`
	QPSSingleCPU      float64  `json:"qps_single_thread_cpu"`
	QPSExhaustive     float64  `json:"qps_exhaustive_single_thread"`
	QPSExhaustiveCPU  float64  `json:"qps_exhaustive_cpu"`
	SpeedupVsExhaust  float64  `json:"speedup_vs_exhaustive"`
	ExhaustiveQueries int      `json:"exhaustive_queries"`
	AgreementTop      float64  `json:"top_k_agreement"`
	QPSBatch          float64  `json:"qps_batch_all_cores"`
	// QPSOneAtATime is queries one after another with all cores: the
	// latency view, where a sharded index searches its shards in parallel.
	QPSOneAtATime float64 `json:"qps_one_at_a_time_all_cores"`
	QPSRetriever  float64 `json:"qps_retriever_with_text"`

	// The real mix only: its question file, the paragraphs indexed, the
	// questions, and the share whose supporting paragraphs are all (at
	// least one) in the top k, against the gate (at k 10); or why the mix
	// was skipped.
	Source     string  `json:"source,omitempty"`
	Passages   int     `json:"passages,omitempty"`
	Questions  int     `json:"questions,omitempty"`
	RecallAll  float64 `json:"recall_all_supporting_at_k,omitempty"`
	RecallAny  float64 `json:"recall_any_supporting_at_k,omitempty"`
	RecallGate float64 `json:"recall_gate,omitempty"`
	Skipped    string  `json:"skipped,omitempty"`
}

// generateSample is the most passages generation alone is timed on.
const generateSample = 500_000

// Options say what Run builds and times.
type Options struct {
	// Dir is the index directory (default: a temporary one, removed
	// afterwards).
	Dir string
	// Passages is the Zipf corpus's size; Queries the queries timed per
	// mix, K the hits per query, and Exhaustive how many of each mix's
	// queries are checked against exhaustive scoring (0: all).
	Passages, Queries, K, Exhaustive int
	// Mixes are zipf mixes or MixReal; Questions is the real mix's file
	// (default: the shared RealQuestionsFile).
	Mixes     []zipf.Mix
	Questions string
	// MemBudget and Shards are the build's (bm25.BuildOptions).
	MemBudget int64
	Shards    int
	// Build, when set, is called just before the build: it returns the
	// build's other options (progress hooks) and a function called as soon
	// as the build returns.
	Build func() (bm25.BuildOptions, func())
	// Log receives warnings (a skipped mix); nil: slog.Default.
	Log *slog.Logger
}

// Run builds a BM25 index over a streamed Zipf corpus of o.Passages and
// measures build time and memory, size, and queries/s on each mix against
// exhaustive scoring.
func Run(ctx context.Context, o Options) (Report, error) {
	dir, n, nq, k, nex := o.Dir, o.Passages, o.Queries, o.K, o.Exhaustive
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	rep := Report{Passages: n, K: k, Cores: runtime.GOMAXPROCS(0), MemBudget: o.MemBudget}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sleuth-bench-bm25-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cfg := zipf.Config{Passages: n}
	// Generation alone, timed, so that the build figures (which include
	// generating the stream they read) can be read net of it; on a sample
	// for large corpora (each passage costs the same), where generating
	// everything twice would add a third to the run.
	rep.GenerateTimed = min(n, generateSample)
	t0 := time.Now()
	for range zipf.Passages(zipf.Config{Passages: rep.GenerateTimed}) {
	}
	rep.GenerateSeconds = time.Since(t0).Seconds() * float64(n) / float64(rep.GenerateTimed)
	opt, done := bm25.BuildOptions{}, func() {}
	if o.Build != nil {
		opt, done = o.Build()
	}
	c0 := cputime.Process()
	opt.MemBudget, opt.Shards = o.MemBudget, o.Shards
	st, err := bm25.Build(ctx, dir, corpus.Stream(zipf.Passages(cfg)), opt)
	done()
	if err != nil {
		return rep, err
	}
	rep.BuildCPUSeconds = (cputime.Process() - c0).Seconds()
	rep.BuildPeakRSS = procstat.Field("VmHWM")
	rep.BuildSeconds, rep.IndexBytes, rep.Terms, rep.Runs, rep.Shards = st.Seconds, st.Bytes, st.Terms, st.Runs, st.Shards
	debug.FreeOSMemory() // serving figures must not count the build's freed heap
	t0 = time.Now()
	ix, err := bm25.OpenSharded(dir)
	if err != nil {
		return rep, err
	}
	defer ix.Close()
	rep.OpenMillis = float64(time.Since(t0).Microseconds()) / 1000
	rep.OpenRSS = procstat.Field("VmRSS")
	for _, m := range o.Mixes {
		if m == MixReal {
			mr, err := realMix(ctx, log, o.Questions, nq, k, nex)
			if err != nil {
				return rep, err
			}
			rep.Mixes = append(rep.Mixes, mr)
			continue
		}
		mc, err := cfg.WithMix(m)
		if err != nil {
			return rep, err
		}
		mr, err := benchMix(ctx, ix, zipf.Queries(mc, nq), k, nex)
		if err != nil {
			return rep, err
		}
		mr.Mix, mr.MinRank, mr.MaxRank = m, mc.QueryMinRank, mc.QueryMaxRank
		rep.Mixes = append(rep.Mixes, mr)
	}
	rep.RSSBytes, rep.PeakRSSBytes = procstat.Field("VmRSS"), procstat.Field("VmHWM")
	rep.RSSAnonBytes, rep.RSSFileBytes = procstat.Field("RssAnon"), procstat.Field("RssFile")
	return rep, nil
}

// benchMix times one mix's queries: one at a time on one core, the first
// nex again exhaustively (every pruned top k must equal the exhaustive
// one, ids and scores), then as one batch on all cores and through the
// Retriever with passage text.
func benchMix(ctx context.Context, ix *bm25.Sharded, qs []string, k, nex int) (MixReport, error) {
	rep := MixReport{Queries: len(qs)}
	prev := runtime.GOMAXPROCS(1)
	for _, q := range qs[:min(len(qs), 200)] { // warm the page cache and pools
		ix.TopK(q, k)
	}
	t0, c0 := time.Now(), cputime.Process()
	got := make([][]bm25.Scored, len(qs))
	for i, q := range qs {
		got[i] = ix.TopK(q, k)
	}
	rep.QPSSingle = float64(len(qs)) / time.Since(t0).Seconds()
	rep.QPSSingleCPU = float64(len(qs)) / (cputime.Process() - c0).Seconds()
	if nex <= 0 || nex > len(qs) {
		nex = len(qs)
	}
	rep.ExhaustiveQueries = nex
	agree := 0
	t0, c0 = time.Now(), cputime.Process()
	for i, q := range qs[:nex] {
		if slices.Equal(ix.TopKExhaustive(q, k), got[i]) {
			agree++
		}
	}
	rep.QPSExhaustive = float64(nex) / time.Since(t0).Seconds()
	rep.QPSExhaustiveCPU = float64(nex) / (cputime.Process() - c0).Seconds()
	runtime.GOMAXPROCS(prev)
	rep.AgreementTop = float64(agree) / float64(nex)
	rep.SpeedupVsExhaust = rep.QPSSingle / rep.QPSExhaustive

	t0 = time.Now()
	if _, err := ix.SearchBatch(ctx, qs, k); err != nil {
		return rep, err
	}
	rep.QPSBatch = float64(len(qs)) / time.Since(t0).Seconds()
	t0 = time.Now()
	for _, q := range qs {
		ix.TopK(q, k)
	}
	rep.QPSOneAtATime = float64(len(qs)) / time.Since(t0).Seconds()
	t0 = time.Now()
	for i := 0; i < len(qs); i += 100 {
		if _, err := ix.Search(ctx, qs[i:min(i+100, len(qs))], k); err != nil {
			return rep, err
		}
	}
	rep.QPSRetriever = float64(len(qs)) / time.Since(t0).Seconds()
	return rep, nil
}

// WriteText prints the report as `sleuth bench retrieval` shows it.
func (r Report) WriteText(w io.Writer) {
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	fmt.Fprintf(w, "corpus            %d Zipf passages (streamed), top-%d, %d cores\n", r.Passages, r.K, r.Cores)
	fmt.Fprintf(w, "generation alone  %.2f s (timed on %d passages)\n", r.GenerateSeconds, r.GenerateTimed)
	fmt.Fprintf(w, "build             %.2f s wall, %.2f s CPU (including generation; %.0f passages/s), %d terms\n", r.BuildSeconds, r.BuildCPUSeconds, float64(r.Passages)/r.BuildSeconds, r.Terms)
	fmt.Fprintf(w, "build memory      peak RSS %.0f MB, budget %.0f MB, %d runs spilled and merged\n", mb(r.BuildPeakRSS), mb(r.MemBudget), r.Runs)
	fmt.Fprintf(w, "open              %.1f ms (map, checksums, structure checks)\n", r.OpenMillis)
	fmt.Fprintf(w, "index size        %.1f MB (postings, dictionary and zstd-compressed text)\n", mb(r.IndexBytes))
	if r.Shards > 1 {
		fmt.Fprintf(w, "shards            %d (searched in parallel, the whole corpus's statistics)\n", r.Shards)
	}
	for _, m := range r.Mixes {
		if m.Mix == MixReal {
			writeReal(w, r.Cores, m)
			continue
		}
		ranks := fmt.Sprintf("ranks %d+", m.MinRank)
		if m.MaxRank > 0 {
			ranks = fmt.Sprintf("ranks %d–%d", m.MinRank, m.MaxRank-1)
		}
		fmt.Fprintf(w, "mix %-8s       %d queries, words of %s\n", m.Mix, m.Queries, ranks)
		fmt.Fprintf(w, "  single thread   %.0f queries/s wall, %.0f per CPU-second\n", m.QPSSingle, m.QPSSingleCPU)
		fmt.Fprintf(w, "  exhaustive      %.0f queries/s wall, %.0f per CPU-second (same index, every posting scored)\n", m.QPSExhaustive, m.QPSExhaustiveCPU)
		fmt.Fprintf(w, "  speedup         %.1fx over exhaustive\n", m.SpeedupVsExhaust)
		fmt.Fprintf(w, "  batch, %d cores  %.0f queries/s\n", r.Cores, m.QPSBatch)
		fmt.Fprintf(w, "  one at a time   %.0f queries/s on %d cores (shards in parallel)\n", m.QPSOneAtATime, r.Cores)
		fmt.Fprintf(w, "  retriever+text  %.0f queries/s (batches of 100, passages fetched)\n", m.QPSRetriever)
		fmt.Fprintf(w, "  agreement       %.2f%% of %d queries identical to exhaustive (ids and scores)\n", 100*m.AgreementTop, m.ExhaustiveQueries)
	}
	fmt.Fprintf(w, "memory            RSS after open %.0f MB; serving %.0f MB (%.0f anonymous, %.0f mapped index pages), peak %.0f MB\n",
		mb(r.OpenRSS), mb(r.RSSBytes), mb(r.RSSAnonBytes), mb(r.RSSFileBytes), mb(r.PeakRSSBytes))
}

func writeReal(w io.Writer, cores int, m MixReport) {
	if m.Skipped != "" {
		fmt.Fprintf(w, "mix real          skipped: %s\n", m.Skipped)
		return
	}
	fmt.Fprintf(w, "mix real          %d questions over their %d paragraphs (%s), timed as %d queries\n", m.Questions, m.Passages, m.Source, m.Queries)
	fmt.Fprintf(w, "  single thread   %.0f queries/s wall, %.0f per CPU-second\n", m.QPSSingle, m.QPSSingleCPU)
	fmt.Fprintf(w, "  exhaustive      %.0f queries/s wall, %.0f per CPU-second\n", m.QPSExhaustive, m.QPSExhaustiveCPU)
	fmt.Fprintf(w, "  batch, %d cores  %.0f queries/s\n", cores, m.QPSBatch)
	fmt.Fprintf(w, "  agreement       %.2f%% of %d questions identical to exhaustive (ids and scores)\n", 100*m.AgreementTop, m.ExhaustiveQueries)
	fmt.Fprintf(w, "  recall          every supporting paragraph in the top k for %.1f%% of the questions, at least one for %.1f%%", 100*m.RecallAll, 100*m.RecallAny)
	if m.RecallGate > 0 {
		verdict := "meets"
		if m.RecallAll < m.RecallGate {
			verdict = "BELOW"
		}
		fmt.Fprintf(w, " (%s the %.0f%% gate)", verdict, 100*m.RecallGate)
	}
	fmt.Fprintln(w)
}
