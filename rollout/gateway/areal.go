package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/rollout"
)

// AReaL is an AReaL online-mode proxy gateway.
type AReaL struct {
	URL      string       // the gateway, e.g. http://10.0.0.5:8090; the agent's base URL
	AdminKey string       // rollout.openai.admin_api_key
	HTTP     *http.Client // nil: http.DefaultClient
	// Wait is the first pause after a 429 (no capacity: AReaL's staleness
	// control) before asking again (default 1s).
	Wait time.Duration
}

// Session is one trajectory's session (StartSessionResponse).
type Session struct {
	ID     string `json:"session_id"`
	APIKey string `json:"api_key"`
}

func (a AReaL) url(path string) string { return strings.TrimRight(a.URL, "/") + path }

func (a AReaL) wait() time.Duration {
	if a.Wait > 0 {
		return a.Wait
	}
	return time.Second
}

// Start opens a session for taskID, waiting while the gateway has no
// capacity.
func (a AReaL) Start(ctx context.Context, taskID string) (Session, error) {
	var s Session
	err := retry(ctx, a.wait(), func() error {
		return rollout.Call(ctx, a.HTTP, http.MethodPost, a.url("/rl/start_session"), a.AdminKey,
			map[string]any{"task_id": taskID, "api_key": nil}, &s)
	})
	if err != nil {
		return Session{}, fmt.Errorf("areal: start session for %s: %w", taskID, err)
	}
	if s.APIKey == "" {
		return Session{}, fmt.Errorf("areal: start session for %s: the gateway issued no api_key", taskID)
	}
	return s, nil
}

// SetReward gives the session's last interaction its reward.
func (a AReaL) SetReward(ctx context.Context, s Session, value float64) error {
	err := rollout.Call(ctx, a.HTTP, http.MethodPost, a.url("/rl/set_reward"), s.APIKey,
		map[string]any{"interaction_id": nil, "reward": value}, nil)
	if err != nil {
		return fmt.Errorf("areal: set reward of session %s: %w", s.ID, err)
	}
	return nil
}

// End closes the session; the gateway exports its trajectory.
func (a AReaL) End(ctx context.Context, s Session) error {
	if err := rollout.Call(ctx, a.HTTP, http.MethodPost, a.url("/rl/end_session"), s.APIKey, map[string]any{}, nil); err != nil {
		return fmt.Errorf("areal: end session %s: %w", s.ID, err)
	}
	return nil
}

// Run plays t as one AReaL trajectory: start a session, run the episode
// with the session's key against the gateway's /chat/completions, set the
// episode's reward and end the session. An episode that failed or made no
// model call gets no reward (the gateway would have nothing to give it
// to, or a reward that says nothing about the policy); its session is
// ended all the same and the failure returned.
func (a AReaL) Run(ctx context.Context, sys System, t Task) (Result, error) {
	s, err := a.Start(ctx, t.Question.ID)
	if err != nil {
		return Result{ID: t.Question.ID}, err
	}
	sys.Chat = true // the gateway proxies chat only
	sc, err := sys.play(ctx, a.URL, s.APIKey, t)
	res := Result{ID: t.Question.ID, Session: s.ID}
	if sc.Episode != nil {
		res = result(sc)
		res.Session = s.ID
	}
	if err == nil && sc.Episode != nil {
		err = sc.Broken()
		if err == nil && len(sc.Episode.Turns) == 0 {
			err = fmt.Errorf("episode %s made no model call", sc.Episode.ID)
		}
	}
	if err == nil {
		if err = a.SetReward(ctx, s, sc.Score.Total); err == nil {
			res.Reported = true
		}
	}
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return res, errors.Join(err, a.End(ectx, s))
}

// RunAll plays every task as one trajectory each (Run), concurrency at a
// time, until the tasks or ctx run out; report is called with each
// result, one call at a time. It returns how many trajectories failed.
func (a AReaL) RunAll(ctx context.Context, sys System, tasks []Task, concurrency int, report func(Result, error)) int {
	var next, failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), len(tasks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tasks) || ctx.Err() != nil {
					return
				}
				res, err := a.Run(ctx, sys, tasks[i])
				if err != nil {
					failed.Add(1)
				}
				mu.Lock()
				report(res, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}
