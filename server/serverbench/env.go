package serverbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/sleuth-research/sleuth/server/env"
)

// Load is one measured load: requests (tool calls or queries) per
// second over the run and their latency at the client.
type Load struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients"`
	Requests  int64   `json:"requests"`
	Failed    int64   `json:"failed"`
	PerSecond float64 `json:"per_second"`
	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
}

// loopback serves h on a loopback test server and returns its URL and a
// client for n workers; done closes both.
func loopback(h http.Handler, n int) (url string, c *http.Client, done func()) {
	ts := httptest.NewServer(h)
	c = client(n)
	return ts.URL, c, func() { c.CloseIdleConnections(); ts.Close() }
}

// client is a loopback client with a connection per worker kept alive.
func client(n int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n}}
}

// post sends body as JSON and decodes the answer into out (nil: drained).
func post(c *http.Client, url string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, msg)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// runLoad runs step on n workers until d has passed and measures each
// step's latency; step returns how many requests it made.
func runLoad(ctx context.Context, n int, d time.Duration, step func(worker, i int) (int, error)) Load {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done, failed atomic.Int64
	lats := make([][]float64, n)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				k, err := step(w, i)
				if err != nil {
					failed.Add(1)
					continue
				}
				done.Add(int64(k))
				lats[w] = append(lats[w], float64(time.Since(t0).Microseconds())/1000/float64(max(k, 1)))
			}
		})
	}
	wg.Wait()
	var all []float64
	for _, l := range lats {
		all = append(all, l...)
	}
	l := Load{Clients: n, Requests: done.Load(), Failed: failed.Load(), PerSecond: float64(done.Load()) / time.Since(start).Seconds()}
	if len(all) > 0 {
		l.P50Millis, l.P99Millis = quantile(all, 0.5), quantile(all, 0.99)
	}
	return l
}

// EnvSessions has n clients of the environment server es (server/env,
// serving the searchr1 preset) each run Search-R1 episodes for d: create a
// session, search five times, score. Only tool calls are counted and
// timed; creates and scores are load around them.
func EnvSessions(ctx context.Context, es http.Handler, n int, d time.Duration) Load {
	url, c, done := loopback(es, n)
	defer done()
	type state struct {
		session string
		calls   int
	}
	st := make([]state, n)
	words := []string{"river", "city", "founder", "born", "company", "museum", "capital", "author"}
	l := runLoad(ctx, n, d, func(w, i int) (int, error) {
		s := &st[w]
		if s.session == "" {
			var cr env.CreateResponse
			if err := post(c, url+"/env/sessions", env.CreateRequest{Preset: "searchr1", Question: fmt.Sprintf("question %d of worker %d", i, w)}, &cr); err != nil {
				return 0, err
			}
			s.session, s.calls = cr.Session, 0
		}
		q := words[(w+i)%len(words)] + " " + words[(w*7+i)%len(words)]
		if err := post(c, url+"/env/sessions/"+s.session+"/call", env.CallRequest{Tool: "search", Input: q}, nil); err != nil {
			s.session = ""
			return 0, err
		}
		if s.calls++; s.calls == 5 {
			ans := "x"
			err := post(c, url+"/env/sessions/"+s.session+"/score", env.ScoreRequest{Answer: &ans}, nil)
			s.session = ""
			if err != nil {
				return 0, err
			}
		}
		return 1, nil
	})
	l.Name = "env tool calls (searchr1 search)"
	return l
}

// Retrieve has n clients send single-query /retrieve requests to rs
// (server/retrieve) for d.
func Retrieve(ctx context.Context, rs http.Handler, n int, d time.Duration) Load {
	url, c, done := loopback(rs, n)
	defer done()
	words := []string{"river", "city", "founder", "born", "company", "museum", "capital", "author", "war", "song"}
	return runLoad(ctx, n, d, func(w, i int) (int, error) {
		q := words[(w+i)%len(words)] + " " + words[(w*3+i*7)%len(words)]
		return 1, post(c, url+"/retrieve", map[string]any{"query": q, "topk": 3, "return_scores": true}, nil)
	})
}

// WriteLoads prints loads as the table `sleuth bench env` shows.
func WriteLoads(w io.Writer, loads []Load) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "load\tclients\trequests\tfailed\tper second\tp50 ms\tp99 ms\t")
	for _, l := range loads {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t\n", l.Name, l.Clients, l.Requests, l.Failed, l.PerSecond, l.P50Millis, l.P99Millis)
	}
	return tw.Flush()
}
