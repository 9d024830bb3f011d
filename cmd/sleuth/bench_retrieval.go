package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// retrievalReport is what `sleuth bench retrieval` measures.
type retrievalReport struct {
	Passages          int     `json:"passages"`
	Queries           int     `json:"queries"`
	K                 int     `json:"k"`
	BuildSeconds      float64 `json:"build_seconds"`
	IndexBytes        int64   `json:"index_bytes"`
	Terms             int     `json:"terms"`
	QPSSingle         float64 `json:"qps_single_thread"`
	QPSSingleCPU      float64 `json:"qps_single_thread_cpu"`
	QPSExhaustiveCPU  float64 `json:"qps_exhaustive_cpu"`
	BuildCPUSeconds   float64 `json:"build_cpu_seconds"`
	OpenMillis        float64 `json:"open_ms"`
	QPSExhaustive     float64 `json:"qps_exhaustive_single_thread"`
	SpeedupVsExhaust  float64 `json:"speedup_vs_exhaustive"`
	QPSBatch          float64 `json:"qps_batch_all_cores"`
	QPSRetriever      float64 `json:"qps_retriever_with_text"`
	Cores             int     `json:"cores"`
	AgreementTop      float64 `json:"top_k_agreement"`
	RSSBytes          int64   `json:"rss_bytes"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	ExhaustiveQueries int     `json:"exhaustive_queries"`
	QueryMinRank      int     `json:"query_min_rank,omitempty"`
}

func newBenchRetrievalCmd() *cobra.Command {
	var passages, queries, k, exhaustiveN, minRank int
	var asJSON bool
	var dir string
	cmd := &cobra.Command{
		Use:   "retrieval",
		Short: "Build a BM25 index over a Zipf corpus and measure build time, size and queries/s against exhaustive scoring",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passages <= 0 || queries <= 0 || k <= 0 {
				return fmt.Errorf("bench retrieval: --passages, --queries and -k must be positive")
			}
			rep, err := benchRetrieval(cmd.Context(), cmd, dir, passages, queries, k, exhaustiveN, minRank)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printRetrieval(cmd, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&passages, "passages", 200_000, "Zipf passages to index")
	f.IntVar(&queries, "queries", 5000, "Zipf queries to time")
	f.IntVarP(&k, "k", "k", 10, "hits per query")
	f.IntVar(&exhaustiveN, "exhaustive", 0, "queries checked against exhaustive scoring (0 = all)")
	f.IntVar(&minRank, "query-min-rank", 0, "draw query words from frequency ranks >= this (100 ≈ stopwords removed); 0 uses the whole Zipf distribution")
	f.StringVar(&dir, "dir", "", "index directory (default: a temporary one, removed afterwards)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func benchRetrieval(ctx context.Context, cmd *cobra.Command, dir string, n, nq, k, nex, minRank int) (retrievalReport, error) {
	rep := retrievalReport{Passages: n, Queries: nq, K: k, Cores: runtime.GOMAXPROCS(0), QueryMinRank: minRank}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sleuth-bench-bm25-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cfg := zipf.Config{Passages: n, QueryMinRank: minRank}
	// Generate first so the build time is the index's alone.
	ps := make([]corpus.Passage, 0, n)
	for p := range zipf.Passages(cfg) {
		ps = append(ps, p)
	}
	qs := zipf.Queries(cfg, nq)
	c0 := cpuTime()
	prog := progress.New(stderr(cmd), "indexing", "passages", int64(n))
	st, err := bm25.Build(ctx, dir, corpus.Seq(ps), bm25.BuildOptions{Progress: func(d int) { prog.Set(int64(d)) }})
	prog.Finish()
	if err != nil {
		return rep, err
	}
	ps = nil
	runtime.GC()
	rep.BuildCPUSeconds = (cpuTime() - c0).Seconds()
	rep.BuildSeconds, rep.IndexBytes, rep.Terms = st.Seconds, st.Bytes, st.Terms
	t0 := time.Now()
	ix, err := bm25.Open(dir)
	if err != nil {
		return rep, err
	}
	defer ix.Close()
	rep.OpenMillis = float64(time.Since(t0).Microseconds()) / 1000

	prev := runtime.GOMAXPROCS(1)
	for _, q := range qs[:min(len(qs), 200)] { // warm the page cache and pools
		ix.TopK(q, k)
	}
	t0, c0 = time.Now(), cpuTime()
	got := make([][]bm25.Scored, len(qs))
	for i, q := range qs {
		got[i] = ix.TopK(q, k)
	}
	rep.QPSSingle = float64(len(qs)) / time.Since(t0).Seconds()
	rep.QPSSingleCPU = float64(len(qs)) / (cpuTime() - c0).Seconds()
	if nex <= 0 || nex > len(qs) {
		nex = len(qs)
	}
	rep.ExhaustiveQueries = nex
	agree := 0
	t0, c0 = time.Now(), cpuTime()
	for i, q := range qs[:nex] {
		if slices.Equal(ix.TopKExhaustive(q, k), got[i]) {
			agree++
		}
	}
	rep.QPSExhaustive = float64(nex) / time.Since(t0).Seconds()
	rep.QPSExhaustiveCPU = float64(nex) / (cpuTime() - c0).Seconds()
	runtime.GOMAXPROCS(prev)
	rep.AgreementTop = float64(agree) / float64(nex)
	rep.SpeedupVsExhaust = rep.QPSSingle / rep.QPSExhaustive

	t0 = time.Now()
	if _, err := ix.SearchBatch(ctx, qs, k); err != nil {
		return rep, err
	}
	rep.QPSBatch = float64(len(qs)) / time.Since(t0).Seconds()
	t0 = time.Now()
	for i := 0; i < len(qs); i += 100 {
		if _, err := ix.Search(ctx, qs[i:min(i+100, len(qs))], k); err != nil {
			return rep, err
		}
	}
	rep.QPSRetriever = float64(len(qs)) / time.Since(t0).Seconds()
	rep.RSSBytes, rep.PeakRSSBytes = procStatus("VmRSS"), procStatus("VmHWM")
	return rep, nil
}

// procStatus reads a kB field of /proc/self/status in bytes (0 where
// there is no /proc).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v * 1024
		}
	}
	return 0
}

func printRetrieval(cmd *cobra.Command, r retrievalReport) {
	w := cmd.OutOrStdout()
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	fmt.Fprintf(w, "corpus            %d Zipf passages, %d queries, top-%d\n", r.Passages, r.Queries, r.K)
	fmt.Fprintf(w, "build             %.2f s wall, %.2f s CPU (%.0f passages/s), %d terms\n", r.BuildSeconds, r.BuildCPUSeconds, float64(r.Passages)/r.BuildSeconds, r.Terms)
	fmt.Fprintf(w, "open              %.1f ms (map, checksums, structure checks)\n", r.OpenMillis)
	fmt.Fprintf(w, "index size        %.1f MB (postings, dictionary and zstd-compressed text)\n", mb(r.IndexBytes))
	fmt.Fprintf(w, "single thread     %.0f queries/s wall, %.0f per CPU-second\n", r.QPSSingle, r.QPSSingleCPU)
	fmt.Fprintf(w, "exhaustive        %.0f queries/s wall, %.0f per CPU-second (same index, every posting scored)\n", r.QPSExhaustive, r.QPSExhaustiveCPU)
	fmt.Fprintf(w, "speedup           %.1fx over exhaustive\n", r.SpeedupVsExhaust)
	fmt.Fprintf(w, "batch, %d cores    %.0f queries/s (%.2fx single thread)\n", r.Cores, r.QPSBatch, r.QPSBatch/r.QPSSingle)
	fmt.Fprintf(w, "retriever + text  %.0f queries/s (batches of 100, passages fetched)\n", r.QPSRetriever)
	fmt.Fprintf(w, "agreement         %.2f%% of %d queries identical to exhaustive (ids and scores)\n", 100*r.AgreementTop, r.ExhaustiveQueries)
	fmt.Fprintf(w, "memory            RSS %.0f MB, peak %.0f MB\n", mb(r.RSSBytes), mb(r.PeakRSSBytes))
}
