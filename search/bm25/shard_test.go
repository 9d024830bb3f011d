package bm25

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// TestShardedEqualsUnsharded builds the same passages unsharded and in
// several shard counts (one under a budget that spills runs) and checks
// that every query of each mix gives the same passages and scores, bit
// for bit, from TopK, TopKExhaustive and Search.
func TestShardedEqualsUnsharded(t *testing.T) {
	t.Parallel()
	cfg := zipf.Config{Passages: 6000, Vocab: 5000, MeanWords: 40}
	// Words found only in the first passage: a query of all of them and
	// then a common word holds more than MaxQueryTerms distinct terms, and
	// the unsharded index ignores the common word; a shard lacking the
	// rare words must ignore it too.
	var rare []string
	for i := range MaxQueryTerms {
		rare = append(rare, fmt.Sprintf("rare%03d", i))
	}
	ps := append([]corpus.Passage{{ID: "rare", Text: strings.Join(rare, " ")}}, zipfPassages(cfg.Passages)...)
	ps = append(ps, corpus.Passage{ID: "empty"}, corpus.Passage{ID: "accents", Title: "Café Müller", Text: "naïve façade café"})
	var qs []string
	for _, m := range zipf.Mixes {
		mc, err := cfg.WithMix(m)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, zipf.Queries(mc, 60)...)
	}
	qs = append(qs, "", "zzzunknown", "café", "ka ka ka lo", ps[3000].Text, strings.Join(rare, " ")+" ka")

	build := func(opt BuildOptions) (string, Stats) {
		dir := t.TempDir()
		opt.Workers = 2
		st, err := Build(context.Background(), dir, seqOf(ps), opt)
		if err != nil {
			t.Fatal(err)
		}
		return dir, st
	}
	plainDir, _ := build(BuildOptions{})
	plain, err := Open(plainDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	ctx := context.Background()
	wantHits, err := plain.Search(ctx, qs, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		shards int
		budget int64
	}{
		{"2 shards", 2, 0},
		{"3 shards", 3, 0},
		{"7 shards spilled", 7, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, st := build(BuildOptions{Shards: tc.shards, MemBudget: tc.budget})
			if st.Shards != tc.shards || st.Passages != len(ps) || (tc.budget > 0 && st.Runs == 0) {
				t.Fatalf("stats %+v: want %d shards of %d passages", st, tc.shards, len(ps))
			}
			if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "OpenSharded") {
				t.Errorf("Open of a sharded index: %v, want an error naming OpenSharded", err)
			}
			gen, _ := current(dir)
			if _, err := os.Stat(filepath.Join(gen, storeTmpFile)); !os.IsNotExist(err) {
				t.Errorf("temporary store left behind: %v", err)
			}
			sh, err := OpenSharded(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			if sh.Shards() != tc.shards || sh.Len() != len(ps) {
				t.Fatalf("opened %d shards of %d passages, want %d of %d", sh.Shards(), sh.Len(), tc.shards, len(ps))
			}
			for i, q := range qs {
				k := []int{1, 10, 100}[i%3]
				want := plain.TopK(q, k)
				if d := cmp.Diff(want, sh.TopK(q, k)); d != "" {
					t.Fatalf("TopK(%.60q, %d) differs (-unsharded +sharded):\n%s", q, k, d)
				}
				if d := cmp.Diff(want, sh.TopKExhaustive(q, k)); d != "" {
					t.Fatalf("TopKExhaustive(%.60q, %d) differs (-unsharded +sharded):\n%s", q, k, d)
				}
			}
			got, err := sh.Search(ctx, qs, 10)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantHits, got); d != "" {
				t.Fatalf("Search differs (-unsharded +sharded):\n%s", d)
			}
		})
	}
}

// TestOpenShardedChecksManifest opens a plain index as one shard, and
// refuses a sharded one whose manifest disagrees with its shards.
func TestOpenShardedChecksManifest(t *testing.T) {
	t.Parallel()
	ps := zipfPassages(200)
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	one, err := OpenSharded(dir)
	if err != nil {
		t.Fatal(err)
	}
	if one.Shards() != 1 || one.Len() != len(ps) {
		t.Errorf("plain index opened as %d shards of %d passages", one.Shards(), one.Len())
	}
	one.Close()

	dir = t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{Shards: 3}); err != nil {
		t.Fatal(err)
	}
	gen, _ := current(dir)
	path := filepath.Join(gen, manifestFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ from, to string }{
		{`"shard-001.bin"`, `"shard-002.bin"`},
		{`"shard-001.bin"`, `"../shard-001.bin"`},
		{`"base": 0`, `"base": 8`},
		{`"passages": `, `"passages": 1`},
		{`"shards"`, `"shards": [], "x"`},
	} {
		os.WriteFile(path, []byte(strings.Replace(string(good), bad.from, bad.to, 1)), 0o644)
		if sh, err := OpenSharded(dir); err == nil {
			sh.Close()
			t.Errorf("manifest with %s replaced by %s: opened, want an error", bad.from, bad.to)
		}
	}
}
