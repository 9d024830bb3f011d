package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/internal/cputime"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// retrievalReport is what `sleuth bench retrieval` measures.
type retrievalReport struct {
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
	Mixes           []mixReport `json:"mixes"`
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

// mixReport is one query mix's figures.
type mixReport struct {
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

func newBenchRetrievalCmd() *cobra.Command {
	var passages, queries, k, exhaustiveN, shards int
	var asJSON bool
	var dir, mem, questions string
	var mixes []string
	cmd := &cobra.Command{
		Use:   "retrieval",
		Short: "Build a BM25 index over a streamed Zipf corpus and measure build time and memory, size, and queries/s on each query mix against exhaustive scoring",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passages <= 0 || queries <= 0 || k <= 0 {
				return fmt.Errorf("bench retrieval: --passages, --queries and -k must be positive")
			}
			budget, err := parseMem(mem)
			if err != nil {
				return fmt.Errorf("bench retrieval: %w", err)
			}
			ms := make([]zipf.Mix, len(mixes))
			for i, m := range mixes {
				if zipf.Mix(m) != mixReal {
					if _, err := (zipf.Config{}).WithMix(zipf.Mix(m)); err != nil {
						return fmt.Errorf("bench retrieval: %w (or %s)", err, mixReal)
					}
				}
				ms[i] = zipf.Mix(m)
			}
			rep, err := benchRetrieval(cmd.Context(), cmd, dir, budget, shards, passages, queries, k, exhaustiveN, ms, questions)
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
	f.IntVar(&passages, "passages", 200_000, "Zipf passages to index (generated as they are indexed, never all in memory)")
	f.IntVar(&queries, "queries", 5000, "Zipf queries to time, per mix")
	f.IntVarP(&k, "k", "k", 10, "hits per query")
	f.IntVar(&exhaustiveN, "exhaustive", 1000, "queries of each mix checked against exhaustive scoring (0 = all)")
	f.StringSliceVar(&mixes, "mix", []string{"head", "content", "mid", "real"}, "query mixes: head (whole Zipf distribution), content (100 most frequent words dropped), mid (words in 0.05–2% of passages), real (HotpotQA questions over their own paragraphs, see --questions; skipped when absent)")
	f.StringVar(&questions, "questions", "", "the real mix's questions with their paragraphs (IRCoT HotpotQA JSONL; default: ../shared/data/"+realQuestionsFile+")")
	f.StringVar(&mem, "mem", "", "memory budget of the build (default: a quarter of RAM, 256MiB–4GiB)")
	f.IntVar(&shards, "shards", 0, "build the index in this many shards (searched in parallel, exact global statistics)")
	f.StringVar(&dir, "dir", "", "index directory (default: a temporary one, removed afterwards)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// generateSample is the most passages generation alone is timed on.
const generateSample = 500_000

func benchRetrieval(ctx context.Context, cmd *cobra.Command, dir string, budget int64, shards, n, nq, k, nex int, mixes []zipf.Mix, questions string) (retrievalReport, error) {
	rep := retrievalReport{Passages: n, K: k, Cores: runtime.GOMAXPROCS(0), MemBudget: budget}
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
	restore := limitHeap(budget)
	c0 := cputime.Process()
	opt, finish := buildProgress(cmd, int64(n))
	opt.MemBudget, opt.Shards = budget, shards
	st, err := bm25.Build(ctx, dir, corpus.Stream(zipf.Passages(cfg)), opt)
	finish()
	restore()
	if err != nil {
		return rep, err
	}
	rep.BuildCPUSeconds = (cputime.Process() - c0).Seconds()
	rep.BuildPeakRSS = procStatus("VmHWM")
	rep.BuildSeconds, rep.IndexBytes, rep.Terms, rep.Runs, rep.Shards = st.Seconds, st.Bytes, st.Terms, st.Runs, st.Shards
	debug.FreeOSMemory() // serving figures must not count the build's freed heap
	t0 = time.Now()
	ix, err := bm25.OpenSharded(dir)
	if err != nil {
		return rep, err
	}
	defer ix.Close()
	rep.OpenMillis = float64(time.Since(t0).Microseconds()) / 1000
	rep.OpenRSS = procStatus("VmRSS")
	for _, m := range mixes {
		if m == mixReal {
			mr, err := benchReal(ctx, slog.Default(), questions, nq, k, nex)
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
	rep.RSSBytes, rep.PeakRSSBytes = procStatus("VmRSS"), procStatus("VmHWM")
	rep.RSSAnonBytes, rep.RSSFileBytes = procStatus("RssAnon"), procStatus("RssFile")
	return rep, nil
}

// benchMix times one mix's queries: one at a time on one core, the first
// nex again exhaustively (every pruned top k must equal the exhaustive
// one, ids and scores), then as one batch on all cores and through the
// Retriever with passage text.
func benchMix(ctx context.Context, ix *bm25.Sharded, qs []string, k, nex int) (mixReport, error) {
	rep := mixReport{Queries: len(qs)}
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
		if m.Mix == mixReal {
			printReal(w, r.Cores, m)
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

func printReal(w io.Writer, cores int, m mixReport) {
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
