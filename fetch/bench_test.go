package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchPage builds a news-like page of about 40 KB: navigation, a cookie
// banner, a stylesheet with hiding rules, 40 paragraphs with links, a
// table, hidden spans and a footer.
func benchPage() []byte {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><title>Benchmark page</title><style>
.hide{display:none} .sr{position:absolute;left:-9999px} nav a{color:#333} .box p{margin:0}</style>
<script>var tracking = {a: 1, b: 2};</script></head><body>
<div class="cookie-banner">We use cookies <button>Accept all cookies</button></div>
<header><nav><ul>`)
	for i := range 30 {
		fmt.Fprintf(&b, `<li><a href="/section/%d">Section %d</a></li>`, i, i)
	}
	b.WriteString(`</ul></nav></header><main><article><h1>A long article</h1>`)
	for i := range 40 {
		fmt.Fprintf(&b, `<h2>Part %d</h2><p>Paragraph %d tells of the river <a href="/entity/%d">Entity %d</a>, which flows `+
			`through the valley for <b>%d kilometres</b> before it meets the sea near the old harbour town. `+
			`<span class="hide">hidden %d</span>Locals say the water is coldest in March.<span style="font-size:0">x</span></p>`, i, i, i, i, 10+i, i)
		if i%10 == 0 {
			b.WriteString(`<table><tr><th>Year</th><th>Flow</th></tr>`)
			for y := range 8 {
				fmt.Fprintf(&b, `<tr><td>%d</td><td>%d m³/s</td></tr>`, 2000+y, 100+y*7)
			}
			b.WriteString(`</table><ul><li>one point</li><li>another point</li></ul>`)
		}
	}
	b.WriteString(`</article></main><aside class="related"><a href="/r1">Related one</a></aside>
<footer>All rights reserved. <a href="/privacy">Privacy</a></footer></body></html>`)
	return []byte(b.String())
}

func BenchmarkExtract(b *testing.B) {
	body := benchPage()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		Extract(body, nil)
	}
}

// BenchmarkFetch64 fetches pages from a loopback server with 64 fetches in
// flight, with extraction ("extract") and without ("raw": body read, no
// HTML parsing); the share of time in extraction is 1 - raw/extract in
// ns/op. The server runs in the same process and shares the CPU, as the
// simulated web does in tests.
func BenchmarkFetch64(b *testing.B) {
	body := benchPage()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	defer srv.Close()
	for _, mode := range []string{"extract", "raw"} {
		b.Run(mode, func(b *testing.B) {
			c, err := New(Config{AllowLoopback: true, IgnoreRobots: true, NoRateLimit: true, MaxConcurrent: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.skipExtract = mode == "raw"
			const workers = 64
			var next atomic.Int64
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := c.Fetch(context.Background(), fmt.Sprintf("%s/p/%d", srv.URL, next.Load())); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
		})
	}
}
