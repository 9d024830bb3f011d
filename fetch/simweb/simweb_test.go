package simweb_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

func collapse(s string) string { return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ") }

// simWeb serves a small simulated web on loopback.
func simWeb(tb testing.TB) (*world.World, *web.Site, *httptest.Server) {
	tb.Helper()
	w, err := world.Generate(world.Config{Seed: 7, Entities: 80, Questions: 20})
	if err != nil {
		tb.Fatal(err)
	}
	site, err := web.New(w, web.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { site.Close() })
	srv := httptest.NewServer(site)
	tb.Cleanup(srv.Close)
	return w, site, srv
}

// TestSimulatedWeb fetches every page of the simulated web: no hidden
// injection may reach the text, every passage of an entity must, and the
// page robots.txt disallows is refused.
func TestSimulatedWeb(t *testing.T) {
	t.Parallel()
	w, site, srv := simWeb(t)
	c, err := fetch.New(fetch.Config{AllowLoopback: true, NoRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	byTitle := map[string][]string{}
	for _, p := range w.Passages {
		byTitle[p.Title] = append(byTitle[p.Title], collapse(p.Text))
	}
	var hidden, passages, refused int
	for _, pi := range site.Pages() {
		p, err := c.Fetch(context.Background(), srv.URL+pi.Path)
		if err != nil {
			if strings.Contains(err.Error(), "robots.txt") {
				refused++
				continue
			}
			t.Errorf("%s: %v", pi.Path, err)
			continue
		}
		text := collapse(p.Text)
		for _, inj := range pi.Injections {
			if inj.Hidden {
				hidden++
				if strings.Contains(text, collapse(inj.Text)) {
					t.Errorf("%s: hidden injection %s reached the text", pi.Path, inj.Kind)
				}
			}
		}
		if pi.Kind == web.KindEntity {
			for _, ps := range byTitle[pi.Title] {
				passages++
				if !strings.Contains(text, ps) {
					t.Errorf("%s: passage missing from text: %.80q", pi.Path, ps)
				}
			}
		}
	}
	if hidden == 0 || passages == 0 || refused == 0 {
		t.Errorf("checked %d hidden injections, %d passages, %d robots refusals: want some of each", hidden, passages, refused)
	}
}

// BenchmarkSimulatedWeb64 fetches and extracts the simulated web's pages
// with 64 fetches in flight.
func BenchmarkSimulatedWeb64(b *testing.B) {
	_, site, srv := simWeb(b)
	var urls []string
	for _, pi := range site.Pages() {
		if !strings.HasPrefix(pi.Path, "/private/") {
			urls = append(urls, srv.URL+pi.Path)
		}
	}
	c, err := fetch.New(fetch.Config{AllowLoopback: true, IgnoreRobots: true, NoRateLimit: true, MaxConcurrent: 64})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var next, bytes atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				p, err := c.Fetch(context.Background(), urls[int(i)%len(urls)])
				if err != nil {
					b.Error(err)
					return
				}
				bytes.Add(p.Bytes)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric(float64(bytes.Load())/float64(b.N), "bytes/page")
}
