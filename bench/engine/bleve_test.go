package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
)

// TestBleveScoresWithBM25 checks that the reopened index still ranks with
// BM25 (Bleve's default is tf-idf): only its BM25 explanation has a
// saturation term with k1.
func TestBleveScoresWithBM25(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	if err := (bleveEngine{}).Build(ctx, dir, slices.Values(testPassages())); err != nil {
		t.Fatal(err)
	}
	ix, err := (bleveEngine{}).Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	q := bleve.NewMatchQuery("axolotl limbs")
	q.SetField(bleveBody)
	req := bleve.NewSearchRequestOptions(q, 1, 0, true)
	res, err := ix.(bleveIndex).idx.SearchInContext(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || res.Hits[0].ID != "u2" {
		t.Fatalf("hits = %v, want u2", res.Hits)
	}
	if expl := res.Hits[0].Expl.String(); !strings.Contains(expl, "saturation(term:") || !strings.Contains(expl, "k1=1.2") {
		t.Errorf("explanation is not BM25's:\n%s", expl)
	}
}
