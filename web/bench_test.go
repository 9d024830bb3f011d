package web

import (
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/sleuth-research/sleuth/world"
)

// BenchmarkServePages fetches entity pages over loopback HTTP from 32
// clients per CPU (64 on two cores, as the fetch benchmark uses) and
// reports pages per second and bytes per page.
func BenchmarkServePages(b *testing.B) {
	w, err := world.Generate(world.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	s, srv := serve(b, w, Config{})
	var paths []string
	for _, p := range s.Pages() {
		if p.Kind == KindEntity {
			paths = append(paths, srv.URL+p.Path)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next, bytes atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(paths[int(next.Add(1))%len(paths)])
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			bytes.Add(n)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(bytes.Load())/float64(b.N), "bytes/page")
}

// BenchmarkSearch answers format=json searches for hop queries over
// loopback HTTP.
func BenchmarkSearch(b *testing.B) {
	w, err := world.Generate(world.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	_, srv := serve(b, w, Config{})
	var urls []string
	for _, q := range w.Questions {
		for _, h := range q.Chain {
			urls = append(urls, srv.URL+"/search?"+url.Values{"q": {h.Query}, "format": {"json"}}.Encode())
		}
	}
	client := srv.Client()
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(urls[int(next.Add(1))%len(urls)])
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "searches/s")
}
