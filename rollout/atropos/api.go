// Package atropos makes sleuth an Atropos environment (NousResearch/atropos):
// it registers with Atropos's API server, runs groups of episodes against
// the policy's OpenAI-compatible server, and posts each group as a scored
// token group built from the episodes' own token segments, never
// re-tokenised.
//
// The wire shapes follow atroposlib/api/server.py (routes and the
// RegisterEnv, EnvIdentifier and ScoredData models) and the loop follows
// atroposlib/envs/base.py (BaseEnv.register_env, get_server_info,
// get_status, handle_send_to_api): masks hold -100 where the trainer must
// not learn and the token id where it must, and inference logprobs hold
// 1.0 at masked positions (MANAGED_SERVER.md's convention).
package atropos

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/rollout"
)

// Masked is the mask value of a position the trainer must not learn.
const Masked = -100

// MaskedLogprob is the inference logprob written at masked positions: a
// value no real logprob takes.
const MaskedLogprob = 1.0

// Registration is POST /register-env's body (RegisterEnv).
type Registration struct {
	MaxTokenLength     int      `json:"max_token_length"`
	DesiredName        string   `json:"desired_name"`
	Weight             float64  `json:"weight"`
	GroupSize          int      `json:"group_size"`
	MinBatchAllocation *float64 `json:"min_batch_allocation"`
}

// Registered is /register-env's answer once the trainer has started
// (status "success").
type Registered struct {
	Status             string `json:"status"`
	EnvID              int    `json:"env_id"`
	WandbName          string `json:"wandb_name"`
	CheckpointDir      string `json:"checkpoint_dir"`
	StartingStep       int    `json:"starting_step"`
	CheckpointInterval int    `json:"checkpoint_interval"`
	NumSteps           int    `json:"num_steps"`
}

// Info is GET /info: the trainer's batch size and longest sequence, -1
// when the trainer has not said.
type Info struct {
	BatchSize   int `json:"batch_size"`
	MaxTokenLen int `json:"max_token_len"`
}

// Status is GET /status-env for one environment.
type Status struct {
	CurrentStep         int     `json:"current_step"`
	QueueSize           int     `json:"queue_size"`
	UnallocatedFraction float64 `json:"unallocated_fraction"`
	SelfQueueSize       int     `json:"self_queue_size"`
	MaxGroupSize        int     `json:"max_group_size"`
	EnvWeight           float64 `json:"env_weight"`
}

// ScoredData is one scored group, POST /scored_data's body. Each list
// has one entry per sequence of the group; Tokens, Masks and
// InferenceLogprobs entries have equal lengths.
type ScoredData struct {
	Tokens            [][]int          `json:"tokens"`
	Masks             [][]int          `json:"masks"`
	Scores            []float64        `json:"scores"`
	Advantages        [][]float64      `json:"advantages"`
	RefLogprobs       [][]float64      `json:"ref_logprobs"`
	Messages          [][]any          `json:"messages"`
	GenerationParams  map[string]any   `json:"generation_params"`
	InferenceLogprobs [][]float64      `json:"inference_logprobs"`
	Overrides         []map[string]any `json:"overrides"`
	GroupOverrides    map[string]any   `json:"group_overrides"`
	Images            any              `json:"images"`
	EnvID             *int             `json:"env_id"`
}

// Client talks to one Atropos API server. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
	// Wait is how long to wait between /register-env tries while the
	// trainer has not started (default 1s, as BaseEnv).
	Wait time.Duration
}

// NewClient returns a client for the API server at base (e.g.
// http://localhost:8000); hc nil is http.DefaultClient.
func NewClient(base string, hc *http.Client) *Client {
	return &Client{base: strings.TrimRight(base, "/"), hc: hc, Wait: time.Second}
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	return rollout.Call(ctx, c.hc, method, c.base+path, "", in, out)
}

// Register registers the environment, trying again while the API answers
// that the trainer has not started (Atropos refuses environments until the
// trainer's first GET /batch).
func (c *Client) Register(ctx context.Context, reg Registration) (Registered, error) {
	for {
		var r Registered
		if err := c.call(ctx, http.MethodPost, "/register-env", reg, &r); err != nil {
			return Registered{}, fmt.Errorf("atropos: register environment: %w", err)
		}
		if r.Status == "success" {
			return r, nil
		}
		select {
		case <-time.After(c.Wait):
		case <-ctx.Done():
			return Registered{}, fmt.Errorf("atropos: register environment (last status %q): %w", r.Status, ctx.Err())
		}
	}
}

// Info reads the trainer's batch size and longest sequence.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var in Info
	if err := c.call(ctx, http.MethodGet, "/info", nil, &in); err != nil {
		return Info{}, fmt.Errorf("atropos: info: %w", err)
	}
	return in, nil
}

// Status reads the queue as environment envID sees it. Atropos reads the
// environment id from a JSON body on this GET.
func (c *Client) Status(ctx context.Context, envID int) (Status, error) {
	var s Status
	if err := c.call(ctx, http.MethodGet, "/status-env", map[string]int{"env_id": envID}, &s); err != nil {
		return Status{}, fmt.Errorf("atropos: status: %w", err)
	}
	return s, nil
}

// Post sends one scored group.
func (c *Client) Post(ctx context.Context, d ScoredData) error {
	if err := c.call(ctx, http.MethodPost, "/scored_data", d, nil); err != nil {
		return fmt.Errorf("atropos: post scored group: %w", err)
	}
	return nil
}

// Disconnect tells the API server the environment has stopped.
func (c *Client) Disconnect(ctx context.Context, envID int) error {
	if err := c.call(ctx, http.MethodPost, "/disconnect-env", map[string]int{"env_id": envID}, nil); err != nil {
		return fmt.Errorf("atropos: disconnect: %w", err)
	}
	return nil
}
