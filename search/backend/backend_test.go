package backend

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/dense"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

var passages = []corpus.Passage{
	{ID: "1", Title: "Paris", Text: "paris is the capital of france"},
	{ID: "2", Title: "Hamlet", Text: "hamlet is a play by shakespeare"},
	{ID: "3", Title: "Tarsk", Text: "tarsk is a city on the river vell"},
}

// indexes builds the passages' BM25 index and a dense index whose vectors
// come from the loopback embeddings double, and returns both with that
// double's embedder.
func indexes(t *testing.T) (bm25Dir, denseDir string, emb dense.Embedder) {
	t.Helper()
	ctx := context.Background()
	bm25Dir = filepath.Join(t.TempDir(), "bm25")
	if _, err := bm25.Build(ctx, bm25Dir, corpus.Seq(passages), bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&densetest.Server{Dim: 16})
	t.Cleanup(srv.Close)
	emb, err := OpenEmbedder(EmbedConfig{Spec: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	denseDir = filepath.Join(t.TempDir(), "dense")
	items := dense.EmbedPassages(ctx, emb, corpus.Seq(passages), "", 0)
	if _, err := dense.Build(ctx, denseDir, 16, items, dense.BuildOptions{Normalize: true}); err != nil {
		t.Fatal(err)
	}
	return bm25Dir, denseDir, emb
}

func TestOpenIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, _, _ := indexes(t)
	ix, err := OpenIndex(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Backend != "bm25" || ix.Documents != 3 {
		t.Errorf("bm25 index: backend %q, %d documents; want bm25, 3", ix.Backend, ix.Documents)
	}
	hits, err := ix.Search(ctx, []string{"capital of france"}, 1)
	if err != nil || len(hits) != 1 || len(hits[0]) != 1 || hits[0][0].Passage.ID != "1" {
		t.Errorf("search: %v %v", hits, err)
	}
	for _, spec := range []string{filepath.Join(t.TempDir(), "missing"), "es:not a url"} {
		if _, err := OpenIndex(ctx, spec); err == nil {
			t.Errorf("OpenIndex(%q): no error", spec)
		}
	}
}

func TestOpenEmbedderLocal(t *testing.T) {
	t.Parallel()
	// The tiny random BERT of search/dense/bert's parity test: plumbing only.
	e, err := OpenEmbedder(EmbedConfig{Spec: "local:../dense/bert/testdata/tiny"})
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := e.Embed(context.Background(), []string{"the capital of france"})
	if err != nil || len(vecs) != 1 || len(vecs[0]) != 32 {
		t.Fatalf("local embedder: %d vectors, err %v", len(vecs), err)
	}
	if _, err := OpenEmbedder(EmbedConfig{Spec: "local:" + t.TempDir()}); err == nil {
		t.Error("a local directory without a model: no error")
	}
}

func TestOpenDenseAndHybrid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bm25Dir, denseDir, emb := indexes(t)
	d, closeDense, err := OpenDense(DenseConfig{Dir: denseDir, Embedder: emb, Options: dense.SearchOptions{Exact: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDense()
	// The double embeds by hashing words, so a passage's own text is its
	// nearest neighbour.
	hits, err := d.Search(ctx, []string{passages[1].Contents()}, 1)
	if err != nil || hits[0][0].Passage.ID != "2" {
		t.Fatalf("dense: %v %v", hits, err)
	}
	h, ix, err := OpenHybrid(ctx, bm25Dir, d, search.HybridConfig{Fusion: search.RRF})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	hits, err = h.Search(ctx, []string{"river vell"}, 3)
	if err != nil || len(hits[0]) != 3 || hits[0][0].Passage.ID != "3" {
		t.Errorf("hybrid: %v %v", hits, err)
	}
	if _, _, err := OpenHybrid(ctx, filepath.Join(t.TempDir(), "missing"), d, search.HybridConfig{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("hybrid over a missing index: %v", err)
	}
}
