// Package rollout runs sleuth's episodes for outside RL trainers that own
// the policy and its updates: Atropos environments (rollout/atropos) and
// RL gateways that record token ids while sleuth reports rewards
// (rollout/gateway: AReaL's online mode, Agent Lightning's rollout
// processes). This package holds what they share: one scored episode, and
// the JSON-over-HTTP exchange their APIs use.
package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
)

// Scored is one episode and its reward.
type Scored struct {
	Episode *agent.Episode
	Score   reward.Score
}

// Play runs question q (index seeds its sampling, as in agent.Runner.Run,
// with opts) and scores the episode with rf against gold. A reward that fails is an
// error; an episode that fails is not (it is scored as it ended).
func Play(ctx context.Context, r *agent.Runner, rf reward.Func, q agent.Question, gold reward.Gold, index int, opts ...agent.RunOption) (Scored, error) {
	ep := r.Run(ctx, q, index, opts...)
	sc, err := rf.Score(ctx, ep, gold)
	if err != nil {
		return Scored{Episode: ep}, fmt.Errorf("score episode %s: %w", ep.ID, err)
	}
	return Scored{Episode: ep, Score: sc}, nil
}

// Broken says why an episode's reward would mean nothing, or nil: one
// that failed (a model or tool call broke) or was cancelled says nothing
// about the policy, so trainers must not be given its reward.
func (s Scored) Broken() error {
	if ep := s.Episode; ep.Status == agent.Failed || ep.Status == agent.Cancelled {
		return fmt.Errorf("episode %s %s: %s", ep.ID, ep.Status, ep.Reason)
	}
	return nil
}

// HTTPError is a non-2xx answer from a trainer's API.
type HTTPError struct {
	Method, URL string
	Status      int
	Body        string // the answer's first 500 bytes
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, e.Body)
}

// Call sends in as a JSON body (none when in is nil) with method to url,
// with "Authorization: Bearer key" when key is set, and decodes a 2xx
// answer into out (ignored when out is nil). Any other status is an
// *HTTPError.
func Call(ctx context.Context, hc *http.Client, method, url, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return &HTTPError{Method: method, URL: url, Status: resp.StatusCode, Body: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
	}
	return nil
}
