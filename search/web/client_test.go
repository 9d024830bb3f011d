package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/search"
)

// scripted serves statuses in order (the last one repeats); 200 answers
// with the SearXNG testdata body, 0 drops the connection.
type scripted struct {
	*httptest.Server
	n atomic.Int64
}

func newScripted(t testing.TB, retryAfter string, statuses ...int) *scripted {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "searxng.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(s.n.Add(1)) - 1
		st := statuses[min(i, len(statuses)-1)]
		switch st {
		case 0:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 200:
			w.Write(body)
		default:
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, `{"error":"try later"}`, st)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func fastRetry(attempts int) Retry {
	return Retry{MaxAttempts: attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		statuses   []int
		retryAfter string
		attempts   int
		wantErr    []string // substrings; nil means success
		wantReqs   int64
		wantCost   Cost
	}{
		{name: "429 then 500 then success", statuses: []int{429, 500, 200}, attempts: 4, wantReqs: 3,
			wantCost: Cost{Requests: 3, Queries: 1, Retries: 2}},
		{name: "dropped connection then success", statuses: []int{0, 200}, attempts: 4, wantReqs: 2,
			wantCost: Cost{Requests: 2, Queries: 1, Retries: 1}},
		{name: "always 503", statuses: []int{503}, attempts: 3, wantReqs: 3,
			wantErr:  []string{`searxng: query "q": giving up after 3 attempts`, "503 Service Unavailable", "try later"},
			wantCost: Cost{Requests: 3, Retries: 2, Failures: 1}},
		{name: "always dropped", statuses: []int{0}, attempts: 2, wantReqs: 2,
			wantErr:  []string{"giving up after 2 attempts", "connection"},
			wantCost: Cost{Requests: 2, Retries: 1, Failures: 1}},
		{name: "403 is not retried", statuses: []int{403}, attempts: 4, wantReqs: 1,
			wantErr:  []string{"403 Forbidden", "json format enabled"},
			wantCost: Cost{Requests: 1, Failures: 1}},
		{name: "Retry-After too long", statuses: []int{429}, retryAfter: "3600", attempts: 4, wantReqs: 1,
			wantErr:  []string{"asked to retry after 1h0m0s, more than the 30s allowed"},
			wantCost: Cost{Requests: 1, Failures: 1}},
		{name: "Retry-After honoured", statuses: []int{429, 200}, retryAfter: "1", attempts: 2, wantReqs: 2,
			wantCost: Cost{Requests: 2, Queries: 1, Retries: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, tt.retryAfter, tt.statuses...)
			var led Ledger
			c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: -1, Retry: fastRetry(tt.attempts), Ledger: &led})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := c.Search(context.Background(), []string{"q"}, 2)
			elapsed := time.Since(start)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || len(got[0]) != 2 {
					t.Errorf("got %v, want one list of 2 hits", got)
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
			}
			if n := srv.n.Load(); n != tt.wantReqs {
				t.Errorf("server saw %d requests, want %d", n, tt.wantReqs)
			}
			cost := led.Cost()
			cost.Latency = 0
			if diff := cmp.Diff(tt.wantCost, cost); diff != "" {
				t.Errorf("cost (-want +got):\n%s", diff)
			}
			if tt.retryAfter == "1" && elapsed < 900*time.Millisecond {
				t.Errorf("took %s, want ≥ 1 s for Retry-After: 1", elapsed)
			}
		})
	}
}

func TestStatusErrorUnwraps(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, "", 401)
	c, err := New(Brave, Config{BaseURL: srv.URL, APIKey: "bad", QPS: -1, Retry: fastRetry(3)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Search(context.Background(), []string{"q"}, 3)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 401 || se.Temporary() {
		t.Fatalf("error %v, want a permanent *StatusError 401", err)
	}
	if !strings.Contains(err.Error(), "check the API key") {
		t.Errorf("error %q does not say to check the key", err)
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	r := Retry{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 20 {
			if d := r.backoff(n); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Wed, 25 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Wed, 25 Nov 2026 11:00:00 GMT": 0,
		"99999999999999999":             24 * time.Hour,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, "", 200)
	// 20 requests a second with a burst of 1: six queries need at least
	// five intervals of 50 ms, however many run concurrently.
	c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: 20, Burst: 1, Concurrency: 6})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Search(context.Background(), []string{"a", "b", "c", "d", "e", "f"}, 1); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 240*time.Millisecond {
		t.Errorf("6 requests at 20 qps took %s, want ≥ 250 ms", el)
	}
	if n := srv.n.Load(); n != 6 {
		t.Errorf("%d requests, want 6", n)
	}
}

func TestRateLimitCancel(t *testing.T) {
	t.Parallel()
	b := newBucket(0.5, 1)
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait = %v, want the deadline", err)
	}
}

func TestBatchOrderAndDedup(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, "", 200)
	c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Search(context.Background(), []string{"a", "b", "a", "  "}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.n.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (repeated and blank queries send none)", n)
	}
	if len(got) != 4 || len(got[3]) != 0 {
		t.Fatalf("got %d lists (last %v), want 4 with the blank query's empty", len(got), got[3])
	}
	if diff := cmp.Diff(got[0], got[2]); diff != "" {
		t.Errorf("repeated query answered differently:\n%s", diff)
	}
	got[2][0].Passage.Meta["x"] = "y"
	if got[0][0].Passage.Meta["x"] == "y" {
		t.Error("repeated query's hits share a Meta map with the first")
	}
	empty, err := c.Search(context.Background(), []string{"a"}, 0)
	if err != nil || len(empty) != 1 || len(empty[0]) != 0 {
		t.Errorf("k=0: got %v, %v; want one empty list", empty, err)
	}
}

func TestLedgerPerContext(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, "", 200)
	var total Ledger
	c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: -1, PricePer1000: 5, Ledger: &total})
	if err != nil {
		t.Fatal(err)
	}
	var ep1, ep2 Ledger
	if _, err := c.Search(WithLedger(context.Background(), &ep1), []string{"a", "b"}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(WithLedger(context.Background(), &ep2), []string{"c"}, 1); err != nil {
		t.Fatal(err)
	}
	// Charging the client's own ledger through the context must not count twice.
	if _, err := c.Search(WithLedger(context.Background(), &total), []string{"d"}, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		l       *Ledger
		queries int64
	}{{"episode 1", &ep1, 2}, {"episode 2", &ep2, 1}, {"total", &total, 4}} {
		c := tc.l.Cost()
		if c.Requests != tc.queries || c.Queries != tc.queries || c.Latency <= 0 {
			t.Errorf("%s: %+v, want %d requests and queries and some latency", tc.name, c, tc.queries)
		}
		if want := float64(tc.queries) * 0.005; c.Dollars < want-1e-12 || c.Dollars > want+1e-12 {
			t.Errorf("%s: $%v, want $%v", tc.name, c.Dollars, want)
		}
	}
	before := total.Cost()
	if _, err := c.Search(context.Background(), []string{"e"}, 1); err != nil {
		t.Fatal(err)
	}
	if d := total.Cost().Sub(before); d.Requests != 1 || d.Queries != 1 {
		t.Errorf("one more query cost %+v", d)
	}
}

func TestCachedClient(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, "", 200)
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "a dir?with#odd chars", "cache.sqlite")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	cache, err := OpenCache(path, CacheConfig{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("cache file not where asked: %v", err)
	}
	var led Ledger
	c, err := New(SearXNG, Config{BaseURL: srv.URL, QPS: -1, Cache: cache, Ledger: &led})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Search(ctx, []string{"Marie  Curie"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Search(ctx, []string{" marie curie "}, 3) // same once normalised
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.n.Load(); n != 1 {
		t.Errorf("%d requests after a cache hit, want 1", n)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached answer differs (-fresh +cached):\n%s", diff)
	}
	if cost := led.Cost(); cost.CacheHits != 1 || cost.Requests != 1 {
		t.Errorf("cost %+v, want 1 request and 1 cache hit", cost)
	}
	if _, err := c.Search(ctx, []string{"marie curie"}, 2); err != nil { // another k: another key
		t.Fatal(err)
	}
	if n := srv.n.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (k is part of the key)", n)
	}
	// Many concurrent misses write the cache at once (SQLite must not answer BUSY).
	batch := []string{"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"}
	if _, err := c.Search(ctx, batch, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Search(ctx, batch, 3); err != nil {
		t.Fatal(err)
	}
	if n := srv.n.Load(); n != 10 {
		t.Errorf("%d requests, want 10 (the second batch all cached)", n)
	}
	srv.n.Store(2)
	now = now.Add(DefaultCacheTTL + time.Second)
	if _, err := c.Search(ctx, []string{"marie curie"}, 3); err != nil {
		t.Fatal(err)
	}
	if n := srv.n.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (the entry outlived the 7-day TTL)", n)
	}
}

func TestCachePersistsAndPrunes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), "cache.sqlite")
	ctx := context.Background()
	c1, err := OpenCache(path, CacheConfig{Now: clock, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{{URL: "https://a.example/", Title: "A", Snippet: "a", Score: 0.5, HasScore: true}}
	if err := c1.Put(ctx, Brave, "Q", 5, want); err != nil {
		t.Fatal(err)
	}
	if err := c1.Put(ctx, Serper, "empty", 5, nil); err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2, err := OpenCache(path, CacheConfig{Now: clock, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, ok, err := c2.Get(ctx, Brave, "q", 5)
	if err != nil || !ok {
		t.Fatalf("Get after reopen: ok=%v err=%v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok, _ := c2.Get(ctx, Tavily, "q", 5); ok {
		t.Error("another provider's entry was served")
	}
	if got, ok, _ := c2.Get(ctx, Serper, "empty", 5); !ok || got == nil || len(got) != 0 {
		t.Errorf("empty result list: got %v ok=%v, want a cached empty list", got, ok)
	}
	now = now.Add(2 * time.Hour)
	if n, err := c2.Prune(ctx); err != nil || n != 2 {
		t.Errorf("Prune = %d, %v; want 2", n, err)
	}
}

var _ search.Retriever = (*Recorder)(nil)
var _ search.Retriever = (*Replayer)(nil)
