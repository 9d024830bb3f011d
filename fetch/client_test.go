package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const simplePage = `<!doctype html><html><head><title>Alpha page</title></head>
<body><nav><a href="/home">Home</a></nav><main><h1>Alpha</h1><p>Alpha is the first letter. See <a href="/beta">beta</a>.</p></main></body></html>`

// testSite serves a few pages and counts requests per path.
type testSite struct {
	srv    *httptest.Server
	counts sync32
}

type sync32 struct{ pages, robots atomic.Int32 }

func newTestSite(t *testing.T, robots string) *testSite {
	t.Helper()
	s := &testSite{}
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		s.counts.robots.Add(1)
		if robots == "" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, robots)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.counts.pages.Add(1)
		switch r.URL.Path {
		case "/page", "/private/x":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, simplePage)
		case "/latin1":
			w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
			w.Write([]byte("<html><body><p>caf\xe9</p></body></html>"))
		case "/late-utf8":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body><p>"+strings.Repeat("a", 2000)+"</p><p>café</p></body></html>")
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a":1}`)
		case "/pdf":
			w.Header().Set("Content-Type", "application/pdf")
			fmt.Fprint(w, "%PDF-1.4")
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, strings.Repeat("x", 3000))
		case "/slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		case "/404":
			http.NotFound(w, r)
		default:
			if n, ok := strings.CutPrefix(r.URL.Path, "/loop/"); ok {
				var i int
				fmt.Sscan(n, &i)
				http.Redirect(w, r, fmt.Sprintf("/loop/%d", i+1), http.StatusFound)
				return
			}
			if strings.HasPrefix(r.URL.Path, "/go-page") {
				http.Redirect(w, r, "/page", http.StatusMovedPermanently)
				return
			}
			http.NotFound(w, r)
		}
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func TestFetchPage(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "")
	c, _, _ := newTestClient(t, Config{AllowLoopback: true})
	p, err := c.Fetch(context.Background(), site.srv.URL+"/go-page#frag")
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Final, Title, Text, CT string
		Status                 int
		Links                  []Link
		Headings               []Heading
	}{p.FinalURL, p.Title, p.Text, p.ContentType, p.Status, p.Links, p.Headings}
	want := got
	want.Final = site.srv.URL + "/page"
	want.Title = "Alpha page"
	want.Text = "# Alpha\n\nAlpha is the first letter. See beta."
	want.CT = "text/html"
	want.Status = 200
	want.Links = []Link{{Text: "beta", URL: site.srv.URL + "/beta"}}
	want.Headings = []Heading{{Level: 1, Text: "Alpha"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

func TestFetchLimits(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "")
	cases := []struct {
		name, path string
		cfg        Config
		check      func(*testing.T, *Page, error)
	}{
		{"latin1 decoded", "/latin1", Config{}, func(t *testing.T, p *Page, err error) {
			if err != nil || p.Text != "café" {
				t.Errorf("got %v %v", p, err)
			}
		}},
		{"late utf-8 without charset", "/late-utf8", Config{}, func(t *testing.T, p *Page, err error) {
			if err != nil || !strings.HasSuffix(p.Text, "café") {
				t.Errorf("got %v", err)
			}
		}},
		{"json allowed", "/json", Config{}, func(t *testing.T, p *Page, err error) {
			if err != nil || p.Text != `{"a":1}` {
				t.Errorf("got %+v %v", p, err)
			}
		}},
		{"pdf refused", "/pdf", Config{}, func(t *testing.T, p *Page, err error) {
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, "content type") {
				t.Errorf("got %v", err)
			}
		}},
		{"truncated", "/big", Config{MaxBytes: 1000}, func(t *testing.T, p *Page, err error) {
			if err != nil || !p.Truncated || p.Bytes != 1000 || len(p.Text) != 1000 {
				t.Errorf("got %+v %v", p, err)
			}
		}},
		{"too many redirects", "/loop/0", Config{MaxRedirects: 3}, func(t *testing.T, p *Page, err error) {
			if err == nil || !strings.Contains(err.Error(), "more than 3 redirects") {
				t.Errorf("got %v", err)
			}
		}},
		{"no redirects", "/go-page", Config{MaxRedirects: -1}, func(t *testing.T, p *Page, err error) {
			if err == nil || !strings.Contains(err.Error(), "redirects") {
				t.Errorf("got %v", err)
			}
		}},
		{"timeout", "/slow", Config{Timeout: 100 * time.Millisecond}, func(t *testing.T, p *Page, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v", err)
			}
		}},
		{"404", "/404", Config{}, func(t *testing.T, p *Page, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Status != 404 {
				t.Errorf("got %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.AllowLoopback = true
			tc.cfg.IgnoreRobots = true
			c, _, _ := newTestClient(t, tc.cfg)
			p, err := c.Fetch(context.Background(), site.srv.URL+tc.path)
			tc.check(t, p, err)
		})
	}
}

func TestRobots(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "User-agent: *\nDisallow: /private/\n\nUser-agent: other\nDisallow: /\n")
	c, _, _ := newTestClient(t, Config{AllowLoopback: true})
	ctx := context.Background()
	_, err := c.Fetch(ctx, site.srv.URL+"/private/x")
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "robots.txt") {
		t.Fatalf("private: got %v, want robots refusal", err)
	}
	for range 3 {
		if _, err := c.Fetch(ctx, site.srv.URL+"/page"); err != nil {
			t.Fatal(err)
		}
	}
	if n := site.counts.robots.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1 (cached)", n)
	}
	if n := site.counts.pages.Load(); n != 3 {
		t.Errorf("pages fetched %d times, want 3", n)
	}

	c2, _, _ := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true})
	if _, err := c2.Fetch(ctx, site.srv.URL+"/private/x"); err != nil {
		t.Errorf("IgnoreRobots: %v", err)
	}
}

func TestRobotsSleuthGroup(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "User-agent: sleuth\nDisallow: /\n")
	c, _, _ := newTestClient(t, Config{AllowLoopback: true})
	_, err := c.Fetch(context.Background(), site.srv.URL+"/page")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want refusal for agent sleuth", err)
	}
}

func TestDiskCache(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "")
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cfg := Config{AllowLoopback: true, IgnoreRobots: true, CacheDir: dir, CacheTTL: time.Hour, Now: clock}
	c, _, _ := newTestClient(t, cfg)
	ctx := context.Background()
	first, err := c.Fetch(ctx, site.srv.URL+"/page")
	if err != nil {
		t.Fatal(err)
	}
	c2, _, dial := newTestClient(t, cfg) // a new process sees the same cache
	second, err := c2.Fetch(ctx, site.srv.URL+"/page")
	if err != nil {
		t.Fatal(err)
	}
	if !second.FromCache || first.FromCache {
		t.Errorf("FromCache first=%v second=%v", first.FromCache, second.FromCache)
	}
	if n := site.counts.pages.Load(); n != 1 {
		t.Errorf("server saw %d page requests, want 1", n)
	}
	if len(dial.seen()) != 0 {
		t.Errorf("cache hit dialed %v", dial.seen())
	}
	second.FromCache = false
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached page differs (-first +second):\n%s", diff)
	}
	now = now.Add(2 * time.Hour) // stale
	if _, err := c2.Fetch(ctx, site.srv.URL+"/page"); err != nil {
		t.Fatal(err)
	}
	if n := site.counts.pages.Load(); n != 2 {
		t.Errorf("after TTL server saw %d requests, want 2", n)
	}
}

func TestHostLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newHostLimiter(2, 2, func() time.Time { return now })
	done, cancel := context.WithCancel(context.Background())
	cancel() // a Wait that must sleep fails at once instead
	var got []bool
	for range 4 {
		got = append(got, l.Wait(done, "h") == nil)
	}
	got = append(got, l.Wait(done, "other") == nil)
	now = now.Add(5 * time.Second)
	got = append(got, l.Wait(done, "h") == nil)
	want := []bool{true, true, false, false, true, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("admitted (-want +got):\n%s", diff)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	c, _, _ := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true, MaxConcurrent: 2})
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := c.Fetch(context.Background(), fmt.Sprintf("%s/%d", srv.URL, i))
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p > 2 {
		t.Errorf("peak concurrency %d > 2", p)
	}
}

func TestRobotsFetchedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "User-agent: *\nAllow: /\n")
	c, _, _ := newTestClient(t, Config{AllowLoopback: true})
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := c.Fetch(context.Background(), site.srv.URL+"/page")
			errs <- err
		}()
	}
	for range 10 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := site.counts.robots.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}
}

func TestRateLimitPerHost(t *testing.T) {
	t.Parallel()
	site := newTestSite(t, "")
	_, port, _ := strings.Cut(strings.TrimPrefix(site.srv.URL, "http://"), ":")
	c, res, _ := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true, RatePerHost: 20, Burst: 1})
	res.answers["site.test"] = []string{"127.0.0.1"} // a name, so not exempt as loopback
	start := time.Now()
	for range 3 {
		if _, err := c.Fetch(context.Background(), "http://site.test:"+port+"/page"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("3 fetches at 20/s with burst 1 took %v, want >= 100ms", d)
	}
}
