package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/bench/engine"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/internal/progress"
)

const (
	phaseBuild = "build"
	phaseServe = "serve"
)

// buildResult is what a build child prints on stdout.
type buildResult struct {
	GenerateSeconds float64 `json:"generate_seconds"`
	BuildSeconds    float64 `json:"build_seconds"`
	BuildCPUSeconds float64 `json:"build_cpu_seconds"`
	BuildPeakRSSMB  float64 `json:"build_peak_rss_mb"`
}

// serveResult is what a serve child prints on stdout.
type serveResult struct {
	OpenSeconds    float64    `json:"open_seconds"`
	SingleQPS      float64    `json:"single_thread_qps"`
	SingleRounds   []float64  `json:"single_thread_qps_rounds"`
	SingleTimed    int        `json:"single_thread_queries_per_pass"`
	SingleCPUQPS   float64    `json:"single_thread_queries_per_cpu_second"`
	AllCoresQPS    float64    `json:"all_cores_qps"`
	AllCoresRounds []float64  `json:"all_cores_qps_rounds"`
	AllCoresTimed  int        `json:"all_cores_queries_per_pass"`
	AllCoresCPUQPS float64    `json:"all_cores_queries_per_cpu_second"`
	Cores          int        `json:"cores"`
	MeanHits       float64    `json:"mean_hits"`
	RSSOpenMB      float64    `json:"rss_open_mb"`
	RSSServeMB     float64    `json:"rss_serve_mb"`
	ServePeakRSSMB float64    `json:"serve_peak_rss_mb"`
	TopK           [][]string `json:"top_k,omitempty"`
}

// zipfConfig is the corpus and queries of c; a serve child is given at
// most one mix, the parent's list holds every mix of the run (the corpus
// does not depend on the mix).
func zipfConfig(c config) zipf.Config {
	zc := zipf.Config{Passages: c.Passages, Seed: c.Seed, QueryMinRank: c.QueryMinRank}
	if len(c.Mixes) > 0 {
		if m, err := zc.WithMix(zipf.Mix(c.Mixes[0])); err == nil { // parseFlags checked it
			zc = m
		}
	}
	return zc
}

// runBuild generates the corpus in memory first, so that generating it is not
// timed as building, then builds the index and reports time and peak memory.
func runBuild(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) error {
	eng, err := engine.New(o.engine)
	if err != nil {
		return err
	}
	start := time.Now()
	passages := slices.Collect(zipf.Passages(zipfConfig(o.cfg)))
	gen := time.Since(start)
	log.Info("corpus generated", "engine", o.engine, "passages", len(passages), "seconds", gen.Seconds())

	bar := progress.New(stderr, o.engine+" build", "passages", int64(len(passages)))
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}
	start = time.Now()
	if err := eng.Build(ctx, o.index, counted(passages, bar)); err != nil {
		return err
	}
	took := time.Since(start)
	cpu1, err := cpuTime()
	if err != nil {
		return err
	}
	bar.Finish()
	st, err := readProcStatus()
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(buildResult{
		GenerateSeconds: gen.Seconds(),
		BuildSeconds:    took.Seconds(),
		BuildCPUSeconds: (cpu1 - cpu0).Seconds(),
		BuildPeakRSSMB:  st.HWMMB(),
	})
}

// counted yields passages and reports each one to bar.
func counted(passages []corpus.Passage, bar *progress.Reporter) iter.Seq[corpus.Passage] {
	return func(yield func(corpus.Passage) bool) {
		for _, p := range passages {
			if !yield(p) {
				return
			}
			bar.Add(1)
		}
	}
}

// runServe opens the index and times the queries one at a time on one
// thread, then from one goroutine per core, reading resident memory while
// the index is open and warm.
func runServe(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) error {
	eng, err := engine.New(o.engine)
	if err != nil {
		return err
	}
	queries := zipf.Queries(zipfConfig(o.cfg), o.cfg.Queries)
	start := time.Now()
	idx, err := eng.Open(ctx, o.index)
	if err != nil {
		return err
	}
	defer idx.Close()
	res := serveResult{OpenSeconds: time.Since(start).Seconds(), Cores: runtime.NumCPU()}
	if st, err := readProcStatus(); err == nil {
		res.RSSOpenMB = st.RSSMB()
	}

	// Warm-up (not timed): fault the index in, and record the hits.
	hits, topk, err := warmUp(ctx, idx, queries, o.cfg)
	if err != nil {
		return err
	}
	res.MeanHits = float64(hits) / float64(len(topk))
	res.TopK = topk

	prev := runtime.GOMAXPROCS(1)
	res.SingleRounds, res.SingleTimed, res.SingleCPUQPS, err = timeRounds(ctx, idx, queries, o.cfg, 1)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		return err
	}
	res.SingleQPS = median(res.SingleRounds)
	log.Info("single thread", "engine", o.engine, "qps", res.SingleRounds)

	runtime.GOMAXPROCS(res.Cores)
	res.AllCoresRounds, res.AllCoresTimed, res.AllCoresCPUQPS, err = timeRounds(ctx, idx, queries, o.cfg, res.Cores)
	if err != nil {
		return err
	}
	res.AllCoresQPS = median(res.AllCoresRounds)
	log.Info("all cores", "engine", o.engine, "cores", res.Cores, "qps", res.AllCoresRounds)

	st, err := readProcStatus()
	if err != nil {
		return err
	}
	res.RSSServeMB, res.ServePeakRSSMB = st.RSSMB(), st.HWMMB()
	return json.NewEncoder(stdout).Encode(res)
}

// warmUp runs the first cfg.Overlap queries once, untimed, to fault the
// index in, and returns their total hit count and top-k ids.
func warmUp(ctx context.Context, idx engine.Index, queries []string, cfg config) (int, [][]string, error) {
	hits := 0
	topk := make([][]string, 0, cfg.Overlap)
	for _, q := range queries[:cfg.Overlap] {
		ids, err := idx.Search(ctx, q, cfg.K)
		if err != nil {
			return 0, nil, err
		}
		hits += len(ids)
		topk = append(topk, ids)
	}
	return hits, topk, nil
}

// timeRounds makes cfg.Rounds timed passes over the queries with the given
// number of workers, each pass stopping early once cfg.Budget has passed. It
// returns queries/s per pass, the fewest queries any pass completed, and
// queries per second of this process's CPU time over all passes, which
// other load on the machine inflates far less than wall time.
func timeRounds(ctx context.Context, idx engine.Index, queries []string, cfg config, workers int) (rates []float64, fewest int, perCPU float64, err error) {
	fewest = len(queries)
	total := 0
	cpu0, err := cpuTime()
	if err != nil {
		return nil, 0, 0, err
	}
	for range cfg.Rounds {
		start := time.Now()
		n, err := runQueries(ctx, idx, queries, cfg.K, workers, start.Add(cfg.Budget))
		if err != nil {
			return nil, 0, 0, err
		}
		rates = append(rates, float64(n)/time.Since(start).Seconds())
		fewest = min(fewest, n)
		total += n
	}
	cpu1, err := cpuTime()
	if err != nil {
		return nil, 0, 0, err
	}
	return rates, fewest, float64(total) / (cpu1 - cpu0).Seconds(), nil
}

// runQueries has workers goroutines pull queries in order until all are
// done or deadline passes, and returns how many were answered.
func runQueries(ctx context.Context, idx engine.Index, queries []string, k, workers int, deadline time.Time) (int, error) {
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		firstErr   error
		once       sync.Once
	)
	stop := func() { next.Store(int64(len(queries))) }
	// With one worker this runs on the calling goroutine: no scheduling
	// between queries, as a single-threaded caller would see.
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(queries) {
				return
			}
			if _, err := idx.Search(ctx, queries[i], k); err != nil {
				once.Do(func() { firstErr = err })
				stop()
				return
			}
			done.Add(1)
			if time.Now().After(deadline) {
				stop()
				return
			}
		}
	}
	if workers == 1 {
		work()
	} else {
		for range workers {
			wg.Go(work)
		}
		wg.Wait()
	}
	return int(done.Load()), firstErr
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// describe is for error messages that quote a child's output.
func describe(b []byte) string {
	const max = 400
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
