// Package serverbench measures sleuth's servers over loopback (what
// `sleuth bench agent --serve` and `sleuth bench env` report): what the
// agent server adds to each streamed episode, and requests per second with
// their latency for the environment server's tool calls and /retrieve.
package serverbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/agent/agentbench"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/agentapi"
	"github.com/sleuth-research/sleuth/toolset"
)

// AgentReport is what Agent measures (`sleuth bench agent --serve --json`).
// Overhead is a request's time at the client (sent to [DONE] read) less
// its episode's own wall time as the runner measured it (Ledger.Wall):
// HTTP, JSON, the event stream and the server's bookkeeping.
type AgentReport struct {
	Requests      int     `json:"requests"`
	Concurrency   int     `json:"concurrency"`
	Turns         int     `json:"turns"`
	LatencyMillis float64 `json:"policy_latency_ms"` // the scripted policy's time per turn
	Seconds       float64 `json:"seconds"`
	Failed        int     `json:"failed"`
	EventsPerReq  float64 `json:"events_per_request"`
	// Episode wall time and overhead, per request, in milliseconds.
	EpisodeP50Millis   float64 `json:"episode_p50_ms"`
	OverheadP50Millis  float64 `json:"overhead_p50_ms"`
	OverheadP99Millis  float64 `json:"overhead_p99_ms"`
	OverheadShare      float64 `json:"overhead_share"` // Σ overhead / Σ episode wall
	FirstEventP50Milli float64 `json:"first_event_p50_ms"`
	FirstEventP99Milli float64 `json:"first_event_p99_ms"`
	latency            time.Duration
}

// latencyPolicy is agentbench.ScriptedPolicy taking a fixed time per turn, as a model
// server does.
type latencyPolicy struct {
	agentbench.ScriptedPolicy
	latency time.Duration
}

func (p latencyPolicy) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	t := time.NewTimer(p.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return llm.Response{}, ctx.Err()
	}
	return p.ScriptedPolicy.Generate(ctx, req)
}

// Agent measures the agent server (server/agentapi) over loopback:
// requests streamed chat requests, concurrency in flight, each a searchr1
// episode of turns turns whose scripted policy takes latency per turn.
func Agent(ctx context.Context, requests, concurrency, turns int, latency time.Duration) (AgentReport, error) {
	res := AgentReport{Requests: requests, Concurrency: concurrency, Turns: turns, LatencyMillis: float64(latency) / 1e6, latency: latency}
	w, ix, p, done, err := agentbench.SearchR1(ctx, turns)
	if err != nil {
		return res, err
	}
	defer done()
	pol := latencyPolicy{agentbench.ScriptedPolicy{Turns: turns}, latency}
	r, closeTools, err := toolset.New().Runner(p, toolset.Deps{Policy: pol, Retriever: ix})
	if err != nil {
		return res, err
	}
	defer closeTools()
	api, err := agentapi.New([]agentapi.System{{Model: "sleuth-searchr1", Preset: p, Policy: pol, Tools: r.Tools}},
		agentapi.Config{MaxConcurrent: concurrency, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/chat/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}

	type sample struct{ total, first, wall time.Duration }
	samples := make([]sample, requests)
	events := make([]int, requests)
	var mu sync.Mutex
	var next int
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= requests {
					return
				}
				q := w.Questions[i%len(w.Questions)].Question
				s, n, err := streamOnce(ctx, client, url, q)
				if err != nil {
					mu.Lock()
					res.Failed++
					mu.Unlock()
					continue
				}
				samples[i], events[i] = sample(s), n
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	var over, wall, first []float64
	var sumOver, sumWall float64
	nEvents := 0
	for i, s := range samples {
		if s.total == 0 {
			continue
		}
		o := float64(s.total-s.wall) / 1e6
		over, wall, first = append(over, o), append(wall, float64(s.wall)/1e6), append(first, float64(s.first)/1e6)
		sumOver += o
		sumWall += float64(s.wall) / 1e6
		nEvents += events[i]
	}
	if len(over) == 0 {
		return res, fmt.Errorf("every request failed")
	}
	res.EventsPerReq = float64(nEvents) / float64(len(over))
	res.EpisodeP50Millis = quantile(wall, 0.5)
	res.OverheadP50Millis, res.OverheadP99Millis = quantile(over, 0.5), quantile(over, 0.99)
	res.OverheadShare = sumOver / sumWall
	res.FirstEventP50Milli, res.FirstEventP99Milli = quantile(first, 0.5), quantile(first, 0.99)
	return res, nil
}

// streamOnce sends one streamed request and times it: the whole exchange,
// the first event, and the episode's own wall time from its done record.
func streamOnce(ctx context.Context, c *http.Client, url, question string) (s struct{ total, first, wall time.Duration }, events int, err error) {
	q, _ := json.Marshal(question)
	body := `{"model":"sleuth-searchr1","stream":true,"messages":[{"role":"user","content":` + string(q) + `}]}`
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return s, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return s, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return s, 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	done := false
	for sc.Scan() {
		line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		if s.first == 0 {
			s.first = time.Since(t0)
		}
		if string(line) == "[DONE]" {
			done = true
			break
		}
		events++
		if bytes.Contains(line, []byte(`"type":"done"`)) {
			var c struct {
				Sleuth struct {
					Done struct {
						Status string `json:"status"`
						Ledger struct {
							Wall int64 `json:"wall_ns"`
						} `json:"ledger"`
					} `json:"done"`
				} `json:"sleuth"`
			}
			if err := json.Unmarshal(line, &c); err != nil {
				return s, events, err
			}
			if c.Sleuth.Done.Status != string(agent.Answered) {
				return s, events, fmt.Errorf("episode %s", c.Sleuth.Done.Status)
			}
			s.wall = time.Duration(c.Sleuth.Done.Ledger.Wall)
		}
	}
	s.total = time.Since(t0)
	if !done || s.wall == 0 {
		return s, events, fmt.Errorf("stream ended early: %v", sc.Err())
	}
	return s, events, nil
}

// quantile is the q-quantile of xs (nearest rank); xs is sorted in place.
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	i := min(len(xs)-1, int(q*float64(len(xs))))
	return xs[i]
}

// WriteText prints the report as `sleuth bench agent --serve` shows it.
func (res AgentReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d streamed requests, %d in flight, %d turns of %s each, in %.1fs; %d failed; %.1f events per request\n",
		res.Requests, res.Concurrency, res.Turns, res.latency, res.Seconds, res.Failed, res.EventsPerReq)
	fmt.Fprintf(w, "episode p50 %.1f ms; server overhead p50 %.2f ms, p99 %.2f ms: %.2f%% of episode time (goal ≤ 2%%)\n",
		res.EpisodeP50Millis, res.OverheadP50Millis, res.OverheadP99Millis, 100*res.OverheadShare)
	fmt.Fprintf(w, "first streamed event p50 %.2f ms, p99 %.2f ms (goal ≤ 50 ms)\n", res.FirstEventP50Milli, res.FirstEventP99Milli)
}
