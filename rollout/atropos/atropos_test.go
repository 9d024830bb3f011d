package atropos_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rollout"
	"github.com/sleuth-research/sleuth/rollout/atropos"
	"github.com/sleuth-research/sleuth/rollout/atropos/atropostest"
)

// episode builds a two-turn episode: prompt, search, observation, answer.
func episode(id string, total float64) rollout.Scored {
	ep := &agent.Episode{ID: id, Status: agent.Answered, Context: []agent.Segment{
		{Source: agent.Env, Role: agent.MainRole, Text: "Q?", TokenIDs: []int{5, 6}},
		{Source: agent.Policy, Role: agent.MainRole, Text: "<search>x</search>", TokenIDs: []int{7, 8, 9}, Logprobs: []float64{-0.1, -0.2, -0.3}},
		{Source: agent.Env, Role: agent.MainRole, Text: "<information>d</information>", TokenIDs: []int{10}},
		{Source: agent.Policy, Role: agent.MainRole, Text: "<answer>a</answer>", TokenIDs: []int{11, 12}, Logprobs: []float64{-1, -2}},
		{Source: agent.Env, Role: "refiner", Text: "other role", TokenIDs: []int{99}},
	}}
	return rollout.Scored{Episode: ep, Score: reward.Score{Total: total}}
}

func TestGroup(t *testing.T) {
	d, err := atropos.Group([]rollout.Scored{episode("a", 1), episode("b", 0)}, agent.MainRole)
	if err != nil {
		t.Fatal(err)
	}
	m := atropos.Masked
	want := atropos.ScoredData{
		Tokens:            [][]int{{5, 6, 7, 8, 9, 10, 11, 12}, {5, 6, 7, 8, 9, 10, 11, 12}},
		Masks:             [][]int{{m, m, 7, 8, 9, m, 11, 12}, {m, m, 7, 8, 9, m, 11, 12}},
		Scores:            []float64{1, 0},
		InferenceLogprobs: [][]float64{{1, 1, -0.1, -0.2, -0.3, 1, -1, -2}, {1, 1, -0.1, -0.2, -0.3, 1, -1, -2}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("group (-want +got):\n%s", diff)
	}

	// One policy segment without logprobs: the group goes without them.
	e := episode("c", 1)
	e.Episode.Context[3].Logprobs = nil
	if d, err = atropos.Group([]rollout.Scored{episode("a", 1), e}, agent.MainRole); err != nil || d.InferenceLogprobs != nil {
		t.Fatalf("logprobs %v, err %v; want nil, nil", d.InferenceLogprobs, err)
	}

	// Text without ids is refused, never re-tokenised.
	e = episode("d", 1)
	e.Episode.Context[2].TokenIDs = nil
	if _, err := atropos.Group([]rollout.Scored{e}, agent.MainRole); !errors.Is(err, atropos.ErrNoTokenIDs) {
		t.Fatalf("err %v, want ErrNoTokenIDs", err)
	}

	// An episode that never generated is not a sequence to train on.
	e = episode("e", 0)
	e.Episode.Context = e.Episode.Context[:1]
	if _, err := atropos.Group([]rollout.Scored{e}, agent.MainRole); err == nil || errors.Is(err, atropos.ErrNoTokenIDs) {
		t.Fatalf("err %v, want a no-policy-tokens error", err)
	}
}

func TestRunRegistersPostsAndDisconnects(t *testing.T) {
	api := atropostest.New(atropostest.Config{Unstarted: 2, BatchSize: 4})
	defer api.Close()
	c := atropos.NewClient(api.URL, nil)
	c.Wait = time.Millisecond
	var calls atomic.Int32
	src := func(_ context.Context, n int) ([]rollout.Scored, error) {
		calls.Add(1)
		if n == 1 { // equal scores: skipped, as BaseEnv does
			return []rollout.Scored{episode("x", 0.5), episode("y", 0.5)}, nil
		}
		return []rollout.Scored{episode("x", 1), episode("y", 0)}, nil
	}
	st, err := atropos.Run(context.Background(), c, atropos.Config{Name: "sleuth-test", GroupSize: 2, Groups: 4, Poll: time.Millisecond}, agent.MainRole, src)
	if err != nil {
		t.Fatal(err)
	}
	if want := (atropos.Stats{EnvID: 0, Groups: 4, Posted: 3, Skipped: 1}); st != want || calls.Load() != 4 {
		t.Fatalf("stats %+v after %d calls, want %+v", st, calls.Load(), want)
	}
	if len(api.Posted()) != 3 || len(api.Rejected()) != 0 {
		t.Fatalf("posted %d, rejected %v", len(api.Posted()), api.Rejected())
	}
	regs, connected := api.Registered()
	if len(regs) != 1 || regs[0].DesiredName != "sleuth-test" || regs[0].GroupSize != 2 || regs[0].MaxTokenLength != 2048 || connected[0] {
		t.Fatalf("registered %+v, connected %v", regs, connected)
	}
}

// TestRunConcurrent rolls out groups several at a time: every group is
// rolled out once and posted, never more than Concurrency at once.
func TestRunConcurrent(t *testing.T) {
	api := atropostest.New(atropostest.Config{BatchSize: 64})
	defer api.Close()
	var now, most atomic.Int32
	seen := make([]atomic.Int32, 9)
	src := func(_ context.Context, n int) ([]rollout.Scored, error) {
		seen[n].Add(1)
		c := now.Add(1)
		for m := most.Load(); c > m && !most.CompareAndSwap(m, c); m = most.Load() {
		}
		defer now.Add(-1)
		time.Sleep(5 * time.Millisecond)
		return []rollout.Scored{episode("x", 1), episode("y", 0)}, nil
	}
	st, err := atropos.Run(context.Background(), atropos.NewClient(api.URL, nil), atropos.Config{GroupSize: 2, Groups: 9, Concurrency: 3}, agent.MainRole, src)
	if err != nil || st.Posted != 9 || len(api.Posted()) != 9 {
		t.Fatalf("stats %+v, err %v, %d posted", st, err, len(api.Posted()))
	}
	for n := range seen {
		if seen[n].Load() != 1 {
			t.Errorf("group %d rolled out %d times", n, seen[n].Load())
		}
	}
	if most.Load() > 3 {
		t.Errorf("%d groups at once, want at most 3", most.Load())
	}
}

func TestRunRefusesEpisodesWithoutIDs(t *testing.T) {
	api := atropostest.New(atropostest.Config{})
	defer api.Close()
	src := func(context.Context, int) ([]rollout.Scored, error) {
		e := episode("t", 1)
		e.Episode.Context[1].TokenIDs = nil
		return []rollout.Scored{e, episode("u", 0)}, nil
	}
	_, err := atropos.Run(context.Background(), atropos.NewClient(api.URL, nil), atropos.Config{GroupSize: 2, Groups: 1}, agent.MainRole, src)
	if !errors.Is(err, atropos.ErrNoTokenIDs) || len(api.Posted()) != 0 {
		t.Fatalf("err %v with %d posted; want ErrNoTokenIDs and nothing posted", err, len(api.Posted()))
	}
}

// TestFakeRejectsMalformed: the stand-in is no rubber stamp. Each variant
// of a well-formed group breaks one thing a trainer relies on.
func TestFakeRejectsMalformed(t *testing.T) {
	api := atropostest.New(atropostest.Config{})
	defer api.Close()
	ctx := context.Background()
	c := atropos.NewClient(api.URL, nil)
	reg, err := c.Register(ctx, atropos.Registration{MaxTokenLength: 2048, DesiredName: "m", Weight: 1, GroupSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	good := func() atropos.ScoredData {
		d, err := atropos.Group([]rollout.Scored{episode("a", 1), episode("b", 0)}, agent.MainRole)
		if err != nil {
			t.Fatal(err)
		}
		d.EnvID = &reg.EnvID
		return d
	}
	if err := c.Post(ctx, good()); err != nil {
		t.Fatalf("a well-formed group was refused: %v", err)
	}
	other := 7
	for _, tc := range []struct {
		name   string
		break_ func(*atropos.ScoredData)
	}{
		{"mask shorter than tokens", func(d *atropos.ScoredData) { d.Masks[0] = d.Masks[0][1:] }},
		{"mask neither -100 nor the token", func(d *atropos.ScoredData) { d.Masks[1][2] = 3 }},
		{"prompt token trained", func(d *atropos.ScoredData) { d.Masks[0][0] = 99 }},
		{"every position masked", func(d *atropos.ScoredData) {
			for j := range d.Masks[0] {
				d.Masks[0][j] = atropos.Masked
			}
		}},
		{"scores of another group size", func(d *atropos.ScoredData) { d.Scores = d.Scores[:1] }},
		{"group of the wrong size", func(d *atropos.ScoredData) {
			d.Tokens, d.Masks, d.Scores, d.InferenceLogprobs = d.Tokens[:1], d.Masks[:1], d.Scores[:1], d.InferenceLogprobs[:1]
		}},
		{"no env_id", func(d *atropos.ScoredData) { d.EnvID = nil }},
		{"unknown env_id", func(d *atropos.ScoredData) { d.EnvID = &other }},
		{"positive logprob at a trained position", func(d *atropos.ScoredData) { d.InferenceLogprobs[0][2] = 0.5 }},
		{"real logprob at a masked position", func(d *atropos.ScoredData) { d.InferenceLogprobs[0][0] = -0.5 }},
		{"logprobs shorter than tokens", func(d *atropos.ScoredData) { d.InferenceLogprobs[1] = d.InferenceLogprobs[1][:3] }},
		{"no tokens", func(d *atropos.ScoredData) { d.Tokens = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.break_(&d)
			var he *rollout.HTTPError
			if err := c.Post(ctx, d); !errors.As(err, &he) || he.Status != http.StatusUnprocessableEntity {
				t.Fatalf("err %v, want 422", err)
			}
		})
	}
	// Bodies a pydantic model would refuse, for every message the
	// environment sends.
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/scored_data", `{"tokens": [["a"]], "masks": [[-100]], "scores": [1], "env_id": 0}`},
		{"POST", "/scored_data", `{"tokens": [[1, 2]], "masks": [[-100, 2]], "env_id": 0}`},
		{"POST", "/scored_data", `[1, 2]`},
		{"POST", "/register-env", `{"max_token_length": 2048, "desired_name": "m", "weight": 1}`},
		{"POST", "/register-env", `{"max_token_length": "long", "desired_name": "m", "weight": 1, "group_size": 2}`},
		{"GET", "/status-env", `{}`},
		{"GET", "/status-env", `{"env_id": 9}`},
		{"POST", "/disconnect-env", `{"env_id": "0"}`},
	} {
		req, _ := http.NewRequest(tc.method, api.URL+tc.path, bytes.NewBufferString(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s %s %s: status %d, want 422", tc.method, tc.path, tc.body, resp.StatusCode)
		}
	}
	if _, err := c.Status(ctx, reg.EnvID); err != nil {
		t.Fatalf("a well-formed status request was refused: %v", err)
	}
	if n := len(api.Posted()); n != 1 {
		t.Fatalf("%d groups accepted, want the one well-formed group", n)
	}
}
