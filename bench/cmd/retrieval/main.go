// Command retrieval measures sleuth's BM25 index against Bleve v2 and SQLite
// FTS5 on the same deterministic zipf corpus and queries: build time, index
// size on disk, single-thread and all-core queries per second, and resident
// memory while serving. Each engine builds and serves in its own child
// process (this binary re-executed with -phase), so one engine's memory never
// counts against another's.
//
//	cd bench && go run -tags sqlite_fts5 ./cmd/retrieval -passages 200000 -queries 5000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// config is what every process of one run shares: the parent passes it to
// its children as flags.
type config struct {
	Passages int `json:"passages"`
	// QueryMinRank drops the most frequent words from queries (see zipf.Config).
	QueryMinRank int `json:"query_min_rank,omitempty"`
	// Mixes, when set, pick the queries' words by zipf.Config.WithMix
	// (head, content, mid) instead of QueryMinRank: the parent builds each
	// engine once and serves it once per mix, passing a serve child one.
	Mixes   []string `json:"mixes,omitempty"`
	Queries int      `json:"queries"`
	K       int      `json:"k"`
	Seed    uint64   `json:"seed"`
	Rounds  int      `json:"rounds"`
	Overlap int      `json:"overlap_queries"`
	// Budget caps each timed pass: a pass stops after the query that
	// crosses it, so slow engines are timed on a prefix of the queries.
	Budget time.Duration `json:"budget_per_pass"`
}

type options struct {
	cfg     config
	engines string
	dir     string
	keep    bool
	json    bool
	phase   string
	engine  string
	index   string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "retrieval:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("retrieval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.cfg.Passages, "passages", 200_000, "zipf passages to index")
	fs.IntVar(&o.cfg.QueryMinRank, "query-min-rank", 0, "draw query words from frequency ranks >= this (100 ≈ stopwords removed); 0 uses the whole distribution")
	var mixes string
	fs.StringVar(&mixes, "mix", "", "query mixes, comma-separated: head, content (100 most frequent words dropped), mid (words in 0.05–2% of passages); each engine builds once and is timed on every mix; overrides -query-min-rank")
	fs.IntVar(&o.cfg.Queries, "queries", 5000, "zipf queries to time")
	fs.IntVar(&o.cfg.K, "k", 10, "hits per query")
	fs.Uint64Var(&o.cfg.Seed, "seed", 1, "zipf corpus seed")
	fs.IntVar(&o.cfg.Rounds, "rounds", 3, "timed passes over the queries per measurement; the median pass is reported")
	fs.IntVar(&o.cfg.Overlap, "overlap", 100, "queries run untimed first (warm-up) and whose top-k lists are compared across engines")
	fs.DurationVar(&o.cfg.Budget, "budget", 20*time.Second, "time cap on each timed pass over the queries")
	fs.StringVar(&o.engines, "engines", strings.Join(defaultEngines(), ","), "comma-separated engines to measure")
	fs.StringVar(&o.dir, "dir", "", "directory for the indexes (default: a fresh temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the indexes after the run")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&o.phase, "phase", "", "internal: run one phase (build or serve) in this process")
	fs.StringVar(&o.engine, "engine", "", "internal: the engine for -phase")
	fs.StringVar(&o.index, "index", "", "internal: the index directory for -phase")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.cfg.Passages <= 0 || o.cfg.Queries <= 0 || o.cfg.K <= 0 || o.cfg.Rounds <= 0 || o.cfg.Overlap <= 0 || o.cfg.Budget <= 0 {
		return o, fmt.Errorf("-passages, -queries, -k, -rounds, -overlap and -budget must be positive")
	}
	if mixes != "" {
		for _, m := range strings.Split(mixes, ",") {
			if _, err := (zipf.Config{}).WithMix(zipf.Mix(m)); err != nil {
				return o, err
			}
			if slices.Contains(o.cfg.Mixes, m) {
				return o, fmt.Errorf("query mix %q given twice", m)
			}
			o.cfg.Mixes = append(o.cfg.Mixes, m)
		}
	}
	o.cfg.Overlap = min(o.cfg.Overlap, o.cfg.Queries)
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch o.phase {
	case "":
		return runParent(ctx, o, stdout, stderr, log)
	case phaseBuild:
		return runBuild(ctx, o, stdout, stderr, log)
	case phaseServe:
		return runServe(ctx, o, stdout, log)
	}
	return fmt.Errorf("unknown -phase %q (want %s or %s)", o.phase, phaseBuild, phaseServe)
}
