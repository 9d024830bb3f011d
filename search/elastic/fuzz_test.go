package elastic

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every parser of the cluster's answers
// and to ParseSpec: none may panic, and a search answer that parses keeps
// the hit list's promises (at most k, ranked, descending scores).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`es:http://localhost:9200/wiki`))
	f.Add([]byte(`{"error":"plain string","status":500}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		const k = 3
		if hits, err := parseSearch(b, k); err == nil {
			if len(hits) > k {
				t.Fatalf("%d hits for k=%d", len(hits), k)
			}
			for i, h := range hits {
				if h.Rank != i || (i > 0 && h.Score > hits[i-1].Score) {
					t.Fatalf("hit %d: rank %d score %v after %v", i, h.Rank, h.Score, hits[max(i-1, 0)].Score)
				}
			}
		}
		if items, err := parseBulk(b, 2); err == nil && len(items) != 2 {
			t.Fatalf("%d bulk items for 2 actions", len(items))
		}
		if n, err := parseCount(b); err == nil && n < 0 {
			t.Fatalf("count %d", n)
		}
		if e := parseError(500, b); e.Error() == "" {
			t.Fatal("empty error")
		}
		if cfg, ok, err := ParseSpec(string(b)); ok && err == nil && checkIndexName(cfg.Index) != nil {
			t.Fatalf("ParseSpec(%q) accepted index %q", b, cfg.Index)
		}
	})
}
