package bm25

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// benchPassages is the corpus size of the Go benchmarks:
// SLEUTH_BENCH_PASSAGES, default 50,000. `sleuth bench retrieval` runs the
// full-size comparison.
func benchPassages() int {
	if n, err := strconv.Atoi(os.Getenv("SLEUTH_BENCH_PASSAGES")); err == nil && n > 0 {
		return n
	}
	return 50_000
}

func benchCorpus() []corpus.Passage {
	ps := make([]corpus.Passage, 0, benchPassages())
	for p := range zipf.Passages(zipf.Config{Passages: benchPassages()}) {
		ps = append(ps, p)
	}
	return ps
}

func BenchmarkBuild(b *testing.B) {
	ps := benchCorpus()
	b.ResetTimer()
	for range b.N {
		if _, err := Build(context.Background(), b.TempDir(), seqOf(ps), BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ps)*b.N)/b.Elapsed().Seconds(), "passages/s")
}

// benchIndex is SLEUTH_BENCH_INDEX, an index already built by `sleuth
// bench retrieval --dir` over as many passages as SLEUTH_BENCH_PASSAGES
// (to profile a large one without rebuilding it), or one built here.
var benchIndex = sync.OnceValues(func() (string, error) {
	if dir := os.Getenv("SLEUTH_BENCH_INDEX"); dir != "" {
		return dir, nil
	}
	dir, err := os.MkdirTemp("", "bm25-bench-")
	if err != nil {
		return "", err
	}
	_, err = Build(context.Background(), dir, seqOf(benchCorpus()), BuildOptions{})
	return dir, err
})

func benchTopK(b *testing.B, exhaustive bool) {
	dir, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	// SLEUTH_BENCH_MIX picks the query mix (head, content, mid; default head).
	cfg := zipf.Config{Passages: benchPassages()}
	if m := os.Getenv("SLEUTH_BENCH_MIX"); m != "" {
		if cfg, err = cfg.WithMix(zipf.Mix(m)); err != nil {
			b.Fatal(err)
		}
	}
	qs := zipf.Queries(cfg, 2000)
	b.ResetTimer()
	for i := range b.N {
		if exhaustive {
			ix.TopKExhaustive(qs[i%len(qs)], 10)
		} else {
			ix.TopK(qs[i%len(qs)], 10)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

func BenchmarkTopK(b *testing.B)           { benchTopK(b, false) }
func BenchmarkTopKExhaustive(b *testing.B) { benchTopK(b, true) }

func BenchmarkPassage(b *testing.B) {
	dir, err := benchIndex()
	if err != nil {
		b.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := ix.Passage(uint32(i*7919) % uint32(ix.Len())); err != nil {
			b.Fatal(err)
		}
	}
}
