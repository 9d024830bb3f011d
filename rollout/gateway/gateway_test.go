package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rollout"
	"github.com/sleuth-research/sleuth/rollout/gateway"
	"github.com/sleuth-research/sleuth/rollout/gateway/gatewaytest"
	"github.com/sleuth-research/sleuth/search/searchtest"
	"github.com/sleuth-research/sleuth/server/openai"
)

// searcher plays Search-R1: it searches first, then answers "Paris".
type searcher struct{ calls atomic.Int32 }

func (s *searcher) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	s.calls.Add(1)
	p := req.Prompt
	for _, m := range req.Messages {
		p += m.Content
	}
	text := "<search> capital of France </search>"
	if strings.Contains(p, "Paris is the capital") {
		text = "<answer> Paris </answer>"
	}
	return llm.Response{Choices: []llm.Choice{{Text: text, FinishReason: "stop"}}}, nil
}

func system(t *testing.T) gateway.System {
	t.Helper()
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	words := searchtest.Words{{ID: "p1", Title: "France", Text: "Paris is the capital of France."}, corpus.Passage{ID: "p2", Title: "Spain", Text: "Madrid is in Spain."}}
	return gateway.System{Preset: p, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: words}}, Reward: reward.Answer{}, LLM: llm.HTTPConfig{MaxRetries: -1, Backoff: time.Millisecond}}
}

func task(id string) gateway.Task {
	return gateway.Task{Question: agent.Question{ID: id, Text: "What is the capital of France?"}, Gold: reward.Gold{Answers: []string{"Paris"}}}
}

func TestAReaLSessionSequence(t *testing.T) {
	gw := gatewaytest.NewAReaL("admin-key", openai.New(&searcher{}, openai.Config{}))
	defer gw.Close()
	a := gateway.AReaL{URL: gw.URL, AdminKey: "admin-key"}
	res, err := a.Run(context.Background(), system(t), task("q1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != agent.Answered || res.Reward != 1 || !res.Reported || res.Turns != 2 {
		t.Fatalf("result %+v", res)
	}
	want := []string{"start q1", "chat q1-1", "chat q1-1", "reward q1-1 1", "end q1-1"}
	if diff := cmp.Diff(want, gw.Calls()); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}

	// The admin key is the gateway's own: a wrong one starts nothing.
	bad := gateway.AReaL{URL: gw.URL, AdminKey: "wrong"}
	var he *rollout.HTTPError
	if _, err := bad.Run(context.Background(), system(t), task("q2")); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("err %v, want 401", err)
	}
}

// TestAReaLRunAll plays five tasks two at a time: every result reported
// once, none failed; with the wrong key every one fails and is counted.
func TestAReaLRunAll(t *testing.T) {
	gw := gatewaytest.NewAReaL("admin-key", openai.New(&searcher{}, openai.Config{}))
	defer gw.Close()
	tasks := []gateway.Task{task("a"), task("b"), task("c"), task("d"), task("e")}
	seen := map[string]bool{}
	a := gateway.AReaL{URL: gw.URL, AdminKey: "admin-key"}
	failed := a.RunAll(context.Background(), system(t), tasks, 2, func(r gateway.Result, err error) {
		if err != nil || seen[r.ID] || !r.Reported {
			t.Errorf("result %+v (%v), seen before: %v", r, err, seen[r.ID])
		}
		seen[r.ID] = true
	})
	if failed != 0 || len(seen) != len(tasks) {
		t.Fatalf("%d failed, %d reported; want 0 and %d", failed, len(seen), len(tasks))
	}
	bad := gateway.AReaL{URL: gw.URL, AdminKey: "wrong"}
	if n := bad.RunAll(context.Background(), system(t), tasks, 3, func(gateway.Result, error) {}); n != len(tasks) {
		t.Errorf("with a wrong key %d failed, want %d", n, len(tasks))
	}
}

// TestAReaLStandInRejectsMalformed: each malformed variant of a call the
// harness makes is refused.
func TestAReaLStandInRejectsMalformed(t *testing.T) {
	gw := gatewaytest.NewAReaL("admin-key", openai.New(&searcher{}, openai.Config{}))
	defer gw.Close()
	ctx := context.Background()
	a := gateway.AReaL{URL: gw.URL, AdminKey: "admin-key"}
	s, err := a.Start(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	// A reward before any interaction has nothing to go to.
	var he *rollout.HTTPError
	if err := a.SetReward(ctx, s, 1); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		t.Fatalf("reward before a model call: %v, want 400", err)
	}
	post := func(path, key, body string) int {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/chat/completions", s.APIKey, `{"model":"sleuth","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`); code != 200 {
		t.Fatalf("a well-formed chat call got %d", code)
	}
	for _, tc := range []struct {
		name, path, key, body string
		want                  int
	}{
		{"start without task_id", "/rl/start_session", "admin-key", `{"api_key":null}`, 422},
		{"start with a numeric task_id", "/rl/start_session", "admin-key", `{"task_id":7}`, 422},
		{"start with a session key", "/rl/start_session", s.APIKey, `{"task_id":"x"}`, 401},
		{"chat with the admin key", "/chat/completions", "admin-key", `{"messages":[]}`, 401},
		{"chat without messages", "/chat/completions", s.APIKey, `{"prompt":"hi"}`, 400},
		{"reward as a string", "/rl/set_reward", s.APIKey, `{"reward":"1.0"}`, 422},
		{"reward missing", "/rl/set_reward", s.APIKey, `{"interaction_id":null}`, 422},
		{"reward with an unknown key", "/rl/set_reward", "sk-sess-nope", `{"reward":1}`, 401},
		{"end with a body that is not an object", "/rl/end_session", s.APIKey, `[]`, 422},
	} {
		if code := post(tc.path, tc.key, tc.body); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
	if err := a.SetReward(ctx, s, 0.5); err != nil {
		t.Fatalf("a well-formed reward was refused: %v", err)
	}
	if err := a.End(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := a.End(ctx, s); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Fatalf("a second end: %v, want 401", err)
	}
}

func TestAGLRollout(t *testing.T) {
	gw := gatewaytest.NewAGL("agl-key", openai.New(&searcher{}, openai.Config{}))
	defer gw.Close()
	env := gw.AddRollout("r1")
	a, err := gateway.AGLFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), system(t), task("q1"))
	if err != nil || !res.Reported || res.Reward != 1 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	want := []string{"model r1 completions", "model r1 completions", "event r1 reward"}
	if diff := cmp.Diff(want, gw.Calls()); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
	ev := gw.Events("r1")[0]
	if ev.Data["value"] != 1.0 || ev.Data["source"] != "sleuth" || ev.Data["reason"] != "answered" {
		t.Fatalf("reward event %+v", ev)
	}

	// Chat models go through /chat/completions.
	env = gw.AddRollout("r2")
	a, _ = gateway.AGLFromEnv(func(k string) string { return env[k] })
	sys := system(t)
	sys.Chat = true
	if _, err := a.Run(context.Background(), sys, task("q2")); err != nil {
		t.Fatal(err)
	}
	if got := gw.Calls()[3]; got != "model r2 chat/completions" {
		t.Fatalf("call %q, want a chat call", got)
	}

	// A pause for a weight sync (429 with Retry-After) is waited out, not
	// counted as a failed episode.
	env = gw.AddRollout("r3")
	a, _ = gateway.AGLFromEnv(func(k string) string { return env[k] })
	gw.Pause(2)
	sys = system(t)
	sys.LLM.MaxRetries = 4
	if res, err := a.Run(context.Background(), sys, task("q3")); err != nil || res.Status != agent.Answered || !res.Reported {
		t.Fatalf("through a pause: %+v, %v", res, err)
	}
	if got := strings.Join(gw.Calls()[len(gw.Calls())-5:], "|"); got != "paused r3 completions|paused r3 completions|model r3 completions|model r3 completions|event r3 reward" {
		t.Fatalf("calls %q", got)
	}

	if _, err := gateway.AGLFromEnv(func(string) string { return "" }); err == nil {
		t.Fatal("an empty environment was accepted")
	}
}

// TestAGLStandInRejectsMalformed: wrong key, unknown rollout, and event
// bodies that do not fit EventCreate or RewardData are refused; the
// rollout's failure reaches the caller.
func TestAGLStandInRejectsMalformed(t *testing.T) {
	gw := gatewaytest.NewAGL("agl-key", openai.New(&searcher{}, openai.Config{}))
	defer gw.Close()
	env := gw.AddRollout("r1")
	ctx := context.Background()
	a, _ := gateway.AGLFromEnv(func(k string) string { return env[k] })
	if err := a.Post(ctx, gateway.Event{Type: "reward", Data: map[string]any{"value": 0.5}}); err != nil {
		t.Fatalf("a well-formed reward was refused: %v", err)
	}
	var he *rollout.HTTPError
	for _, tc := range []struct {
		name string
		a    gateway.AGL
		e    gateway.Event
		want int
	}{
		{"wrong key", gateway.AGL{EventURL: a.EventURL, Key: "nope"}, gateway.Event{Type: "reward", Data: map[string]any{"value": 1.0}}, 401},
		{"unknown rollout", gateway.AGL{EventURL: strings.Replace(a.EventURL, "/r1/", "/r9/", 1), Key: a.Key}, gateway.Event{Type: "reward", Data: map[string]any{"value": 1.0}}, 404},
		{"reward without a value", a, gateway.Event{Type: "reward", Data: map[string]any{"reason": "x"}}, 422},
		{"reward value as a string", a, gateway.Event{Type: "reward", Data: map[string]any{"value": "1"}}, 422},
		{"no event type", a, gateway.Event{Data: map[string]any{"value": 1.0}}, 200}, // "" is a string: EventCreate takes it
	} {
		err := tc.a.Post(ctx, tc.e)
		if tc.want == 200 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.As(err, &he) || he.Status != tc.want {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.want)
		}
	}
	// A model call to an unsupported path or mode is refused, and an
	// episode whose model calls fail is reported as failed, without reward.
	bad := gateway.AGL{OpenAIBaseURL: strings.Replace(env["AGL_OPENAI_BASE_URL"], "/mode/train/", "/mode/eval/", 1), EventURL: a.EventURL, Key: a.Key}
	res, err := bad.Run(ctx, system(t), task("q"))
	if err == nil || res.Reported || res.Status != agent.Failed {
		t.Fatalf("result %+v, err %v; want a failed, unreported rollout", res, err)
	}
	if n := len(gw.Events("r1")); n != 2 {
		t.Fatalf("%d events stored, want the two well-formed ones", n)
	}
}
