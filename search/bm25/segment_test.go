package bm25

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
)

// TestSpilledBuildEqualsInMemory builds the same passages once in memory
// and once under a budget so small that nearly every batch is spilled to
// its own run (and the workers' term maps start over many times): the
// index files must be identical byte for byte, and so must every query's
// results.
func TestSpilledBuildEqualsInMemory(t *testing.T) {
	ps := zipfPassages(3000)
	ps = append(ps,
		corpus.Passage{ID: "empty"},
		corpus.Passage{ID: "accents", Title: "Café Müller", Text: "naïve façade ünïcode café"},
		corpus.Passage{ID: "meta", Title: "t", Text: "ka lo", Meta: map[string]string{"url": "u"}},
	)
	build := func(budget int64) (string, Stats) {
		dir := t.TempDir()
		st, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{MemBudget: budget, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		return dir, st
	}
	memDir, memSt := build(0)
	runDir, runSt := build(64 << 10)
	if memSt.Runs != 0 || runSt.Runs < 10 {
		t.Fatalf("runs: in memory %d (want 0), tiny budget %d (want many)", memSt.Runs, runSt.Runs)
	}
	read := func(dir string) []byte {
		gen, err := current(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(gen, indexFile))
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(gen, "run-*")); len(left) != 0 {
			t.Errorf("spilled runs left behind: %v", left)
		}
		return b
	}
	if a, b := read(memDir), read(runDir); !bytes.Equal(a, b) {
		t.Fatalf("index files differ (%d and %d bytes)", len(a), len(b))
	}
	open := func(dir string) *Index {
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		return ix
	}
	mem, run := open(memDir), open(runDir)
	queries := []string{"", "zzzunknown", "ka", "ka lo mi ne ru", "café", "ka ka ka lo",
		ps[7].Text, ps[2999].Title + " " + ps[10].Text[:20]}
	for _, q := range queries {
		for _, k := range []int{1, 10, 100} {
			if d := cmp.Diff(mem.TopK(q, k), run.TopK(q, k)); d != "" {
				t.Errorf("TopK(%q, %d) differs (-memory +spilled):\n%s", q, k, d)
			}
			if d := cmp.Diff(mem.TopKExhaustive(q, k), run.TopK(q, k)); d != "" {
				t.Errorf("TopK(%q, %d) of the spilled index differs from exhaustive:\n%s", q, k, d)
			}
		}
	}
}
