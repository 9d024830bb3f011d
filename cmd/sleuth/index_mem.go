package main

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/internal/procstat"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// parseMem reads a --mem value ("4GiB", "512MB", "1000000"); empty means
// the default.
func parseMem(s string) (int64, error) {
	if s == "" {
		return bm25.MemBudgetFor(procstat.MemTotal()), nil
	}
	v, err := humanize.ParseBytes(s)
	if err != nil || v < 1<<20 || v > 1<<50 {
		return 0, fmt.Errorf("--mem %q: want a size of at least 1 MiB, such as 4GiB or 512MiB", s)
	}
	return int64(v), nil
}

// limitHeap makes the collector work harder as the heap nears the build's
// budget, so that the process stays near it; it returns a function that
// restores the previous limit.
func limitHeap(budget int64) func() {
	prev := debug.SetMemoryLimit(budget)
	return func() { debug.SetMemoryLimit(prev) }
}

// buildProgress returns build options that report the passages indexed
// (out of total, when known) and then the postings merged, each with rate
// and ETA, and a function that closes whichever report is open.
func buildProgress(cmd *cobra.Command, total int64) (bm25.BuildOptions, func()) {
	var mu sync.Mutex
	cur := progress.New(stderr(cmd), "indexing", "passages", total)
	merging := false
	opt := bm25.BuildOptions{
		Progress: func(done int) { cur.Set(int64(done)) },
		MergeProgress: func(done, all int64) {
			mu.Lock()
			defer mu.Unlock()
			if !merging {
				merging = true
				cur.Finish()
				cur = progress.New(stderr(cmd), "merging", "postings", all)
			}
			cur.Set(done)
		},
	}
	return opt, func() {
		mu.Lock()
		defer mu.Unlock()
		cur.Finish()
	}
}
