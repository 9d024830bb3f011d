package web

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkSearchLoopback measures the client's own overhead per query
// (request, SearXNG parse, hits) against a loopback server, without limits.
func BenchmarkSearchLoopback(b *testing.B) {
	srv := newScripted(b, "", 200)
	c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: -1, Concurrency: 8})
	if err != nil {
		b.Fatal(err)
	}
	queries := make([]string, 64)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range queries {
			queries[j] = fmt.Sprintf("q %d %d", i, j)
		}
		if _, err := c.Search(context.Background(), queries, 10); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(queries))/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkCacheHit measures one cached lookup in the SQLite cache.
func BenchmarkCacheHit(b *testing.B) {
	c, err := OpenCache(filepath.Join(b.TempDir(), "c.sqlite"), CacheConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	res := []Result{{URL: "https://a.example/", Title: "A", Snippet: "some snippet text of a typical length"}}
	for i := range 1000 {
		if err := c.Put(ctx, Brave, fmt.Sprint("q", i), 10, res); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		if _, ok, err := c.Get(ctx, Brave, fmt.Sprint("q", i%1000), 10); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
