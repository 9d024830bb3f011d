package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sleuth-research/sleuth/rollout"
)

// The environment variables an Agent Lightning controller sets for each
// rollout process or Job (agentlightning/controller).
const (
	EnvOpenAIBaseURL = "AGL_OPENAI_BASE_URL"
	EnvEventURL      = "AGL_EVENT_URL"
	EnvKey           = "AGL_KEY"
)

// AGL is one Agent Lightning rollout, as its controller describes it.
type AGL struct {
	OpenAIBaseURL string       // the gateway's OpenAI-compatible base for this rollout attempt
	EventURL      string       // where this attempt's events go
	Key           string       // the server key, sent as a bearer token; empty when auth is off
	HTTP          *http.Client // nil: http.DefaultClient
}

// AGLFromEnv reads the rollout's environment.
func AGLFromEnv(getenv func(string) string) (AGL, error) {
	a := AGL{OpenAIBaseURL: getenv(EnvOpenAIBaseURL), EventURL: getenv(EnvEventURL), Key: getenv(EnvKey)}
	if a.OpenAIBaseURL == "" || a.EventURL == "" {
		return AGL{}, fmt.Errorf("agent lightning: %s and %s must be set (the controller sets them for each rollout)", EnvOpenAIBaseURL, EnvEventURL)
	}
	return a, nil
}

// Event is EventCreate.
type Event struct {
	Type string         `json:"event_type"`
	Data map[string]any `json:"data"`
}

// Post sends one event of this rollout attempt.
func (a AGL) Post(ctx context.Context, e Event) error {
	if err := rollout.Call(ctx, a.HTTP, http.MethodPost, a.EventURL, a.Key, e, nil); err != nil {
		return fmt.Errorf("agent lightning: post %s event: %w", e.Type, err)
	}
	return nil
}

// Run plays t as this process's rollout against the gateway and posts its
// reward (RewardData: value, source, reason; the reward's components
// beside them). An episode that failed gets no reward and its failure is
// returned, so the process exits non-zero and the controller marks the
// rollout failed.
func (a AGL) Run(ctx context.Context, sys System, t Task) (Result, error) {
	sc, err := sys.play(ctx, a.OpenAIBaseURL, a.Key, t)
	if sc.Episode == nil {
		return Result{ID: t.Question.ID}, err
	}
	res := result(sc)
	if err == nil {
		err = sc.Broken()
	}
	if err != nil {
		return res, err
	}
	comps := map[string]float64{}
	for _, c := range sc.Score.Components {
		comps[c.Name] = c.Value
	}
	err = a.Post(ctx, Event{Type: "reward", Data: map[string]any{
		"value": sc.Score.Total, "source": "sleuth", "reason": string(sc.Episode.Status), "components": comps,
	}})
	res.Reported = err == nil
	return res, err
}
