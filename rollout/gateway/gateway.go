// Package gateway runs sleuth's episodes through RL gateways ("harness
// mode"): the trainer's gateway sits between the agent and the policy,
// records the token ids of every model call, and sleuth reports each
// episode's reward. Two contracts are spoken:
//
//   - AReaL's online mode (areal/experimental/openai/proxy: server.py's
//     StartSessionRequest/Response and SetRewardRequest, proxy_gateway.py's
//     routes): POST /rl/start_session with the admin key returns a
//     per-trajectory key; the agent calls /chat/completions with it;
//     POST /rl/set_reward {"reward"} and POST /rl/end_session {} close it.
//   - Agent Lightning's rollout processes (agentlightning/controller:
//     local_reconciler.py and k8s_reconciler.py set AGL_OPENAI_BASE_URL,
//     AGL_EVENT_URL and AGL_KEY; server/routes/events.py takes EventCreate
//     {"event_type", "data"}): one rollout per process, its reward posted as
//     {"event_type": "reward", "data": {"value": ...}}.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rollout"
)

// System is what plays an episode behind a gateway: the preset, its
// tools and reward, and how to reach the model.
type System struct {
	Preset agent.Preset
	Tools  map[string]agent.Tool // shared by every episode; tools are safe for concurrent use
	Reward reward.Func
	Seed   *int64 // sampling seed base; nil leaves sampling unseeded
	// LLM configures the OpenAI-compatible client of each episode; its
	// BaseURL and key are the gateway's and are set per episode.
	LLM llm.HTTPConfig
	// Chat sends each turn as chat messages (agent.ImageChat: the
	// episode's context as one user turn, page images attached), for
	// gateways that only proxy /chat/completions; otherwise turns go to
	// /completions as text.
	Chat bool
}

// Task is one question to play.
type Task struct {
	Question agent.Question
	Gold     reward.Gold
	Index    int // seeds sampling, as agent.Runner.Run's index
}

// Result is what became of one episode behind a gateway.
type Result struct {
	ID         string             `json:"id"`
	Status     agent.Status       `json:"status"`
	Reason     string             `json:"reason,omitempty"`
	Answer     string             `json:"answer"`
	Turns      int                `json:"turns"`
	Reward     float64            `json:"reward"`
	Components []reward.Component `json:"components,omitempty"`
	Reported   bool               `json:"reported"`          // the gateway took the reward
	Session    string             `json:"session,omitempty"` // AReaL's session id
}

// bearer sets the Authorization header of every request it carries.
type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// play runs t against the model at base, authenticated by key (none when
// empty), and scores it.
func (s System) play(ctx context.Context, base, key string, t Task) (rollout.Scored, error) {
	cfg := s.LLM
	cfg.BaseURL = base
	// The gateway's key travels by transport; the caller's $OPENAI_API_KEY
	// (llm's default) must never go to a gateway.
	cfg.APIKeyEnv = "SLEUTH_GATEWAY_UNSET_KEY"
	if key != "" {
		cfg.HTTPClient = &http.Client{Transport: bearer{key: key, next: http.DefaultTransport}}
	}
	c, err := llm.NewHTTP(cfg)
	if err != nil {
		return rollout.Scored{}, err
	}
	var pol llm.Client = c
	if s.Chat {
		pol = agent.ImageChat{Client: c}
	}
	r := &agent.Runner{Preset: s.Preset, Policy: pol, Tools: s.Tools}
	return rollout.Play(ctx, r, s.Reward, t.Question, t.Gold, t.Index, agent.SeedFrom(s.Seed))
}

// result summarises a scored episode.
func result(sc rollout.Scored) Result {
	ep := sc.Episode
	return Result{ID: ep.ID, Status: ep.Status, Reason: ep.Reason, Answer: ep.Answer, Turns: len(ep.Turns),
		Reward: sc.Score.Total, Components: sc.Score.Components}
}

// retry calls f until it succeeds, fails with anything but 429, or ctx
// ends, waiting wait (doubled each time, at most 30s) between tries:
// gateways answer 429 while they have no capacity.
func retry(ctx context.Context, wait time.Duration, f func() error) error {
	for {
		err := f()
		var he *rollout.HTTPError
		if err == nil || !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
			return err
		}
		select {
		case <-time.After(wait):
			wait = min(2*wait, 30*time.Second)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		}
	}
}
