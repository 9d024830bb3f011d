package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/env"
	"github.com/sleuth-research/sleuth/server/retrieve"
	"github.com/sleuth-research/sleuth/world"
)

// benchLoad is one measured load: requests (tool calls or queries) per
// second over the run and their latency at the client.
type benchLoad struct {
	Name      string  `json:"name"`
	Clients   int     `json:"clients"`
	Requests  int64   `json:"requests"`
	Failed    int64   `json:"failed"`
	PerSecond float64 `json:"per_second"`
	P50Millis float64 `json:"p50_ms"`
	P99Millis float64 `json:"p99_ms"`
}

func newBenchEnvCmd() *cobra.Command {
	var (
		index                    string
		sessions, clients, batch int
		seconds                  float64
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Environment server tool calls/s and /retrieve queries/s, micro-batched against unbatched",
		Long: `Measure, on loopback over a BM25 index (a generated world's when --index is not
given): Search-R1 tool calls per second through the environment server with
--sessions concurrent sessions, each creating a session, searching and
scoring in a loop; and /retrieve single-query requests per second from
--clients concurrent clients, sent to a micro-batching server (--batch) and
to the unbatched one, in turn, for --seconds each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if index == "" {
				dir, err := os.MkdirTemp("", "sleuth-bench-env-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				w, err := world.Generate(world.Config{Seed: 3, Entities: 1500, Questions: 200})
				if err != nil {
					return err
				}
				index = filepath.Join(dir, "index")
				if _, err := bm25.Build(ctx, index, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
					return err
				}
				fmt.Fprintf(stderr(cmd), "bench env: built a %d-passage world index\n", len(w.Passages))
			}
			ix, err := bm25.Open(index)
			if err != nil {
				return err
			}
			defer ix.Close()
			dur := time.Duration(seconds * float64(time.Second))
			var loads []benchLoad
			es := newEnvServer(serveFlags{index: index}, envServeFlags{presets: "searchr1", maxSessions: 4 * sessions, ttl: time.Minute})
			defer es.Close()
			loads = append(loads, benchEnvSessions(ctx, es, sessions, dur))
			for _, b := range []int{0, batch} {
				cfg := retrieve.Config{}
				name := "/retrieve unbatched"
				if b > 0 {
					cfg.Batch = &search.CoalesceConfig{MaxBatch: b}
					name = fmt.Sprintf("/retrieve batched (up to %d)", b)
				}
				rs := retrieve.New(ix, cfg)
				l := benchRetrieve(ctx, rs, clients, dur)
				rs.Close()
				l.Name = name
				loads = append(loads, l)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), loads)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "load\tclients\trequests\tfailed\tper second\tp50 ms\tp99 ms\t")
			for _, l := range loads {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t\n", l.Name, l.Clients, l.Requests, l.Failed, l.PerSecond, l.P50Millis, l.P99Millis)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&index, "index", "", "BM25 index (default: a generated world's, built first)")
	f.IntVar(&sessions, "sessions", 100, "concurrent environment sessions")
	f.IntVar(&clients, "clients", 200, "concurrent /retrieve clients")
	f.IntVar(&batch, "batch", 64, "largest batched search of the micro-batching server")
	f.Float64Var(&seconds, "seconds", 5, "seconds per load")
	f.BoolVar(&asJSON, "json", false, "print the loads as JSON")
	return cmd
}

// benchClient is a loopback client with a connection per worker kept alive.
func benchClient(n int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n}}
}

func benchPost(c *http.Client, url string, body any, out any) error {
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
func runLoad(ctx context.Context, n int, d time.Duration, step func(worker, i int) (int, error)) benchLoad {
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
	l := benchLoad{Clients: n, Requests: done.Load(), Failed: failed.Load(), PerSecond: float64(done.Load()) / time.Since(start).Seconds()}
	if len(all) > 0 {
		l.P50Millis, l.P99Millis = quantile(all, 0.5), quantile(all, 0.99)
	}
	return l
}

// benchEnvSessions has n clients each run Search-R1 episodes: create a
// session, search five times, score. Only tool calls are counted and
// timed; creates and scores are load around them.
func benchEnvSessions(ctx context.Context, es *env.Server, n int, d time.Duration) benchLoad {
	ts := httptest.NewServer(es)
	defer ts.Close()
	c := benchClient(n)
	defer c.CloseIdleConnections()
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
			if err := benchPost(c, ts.URL+"/env/sessions", env.CreateRequest{Preset: "searchr1", Question: fmt.Sprintf("question %d of worker %d", i, w)}, &cr); err != nil {
				return 0, err
			}
			s.session, s.calls = cr.Session, 0
		}
		q := words[(w+i)%len(words)] + " " + words[(w*7+i)%len(words)]
		if err := benchPost(c, ts.URL+"/env/sessions/"+s.session+"/call", env.CallRequest{Tool: "search", Input: q}, nil); err != nil {
			s.session = ""
			return 0, err
		}
		if s.calls++; s.calls == 5 {
			ans := "x"
			err := benchPost(c, ts.URL+"/env/sessions/"+s.session+"/score", env.ScoreRequest{Answer: &ans}, nil)
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

// benchRetrieve has n clients send single-query /retrieve requests.
func benchRetrieve(ctx context.Context, rs *retrieve.Server, n int, d time.Duration) benchLoad {
	ts := httptest.NewServer(rs)
	defer ts.Close()
	c := benchClient(n)
	defer c.CloseIdleConnections()
	words := []string{"river", "city", "founder", "born", "company", "museum", "capital", "author", "war", "song"}
	return runLoad(ctx, n, d, func(w, i int) (int, error) {
		q := words[(w+i)%len(words)] + " " + words[(w*3+i*7)%len(words)]
		return 1, benchPost(c, ts.URL+"/retrieve", map[string]any{"query": q, "topk": 3, "return_scores": true}, nil)
	})
}
