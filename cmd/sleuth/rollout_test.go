package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/rollout/gateway"
	"github.com/sleuth-research/sleuth/rollout/gateway/gatewaytest"
	"github.com/sleuth-research/sleuth/server/openai"
)

// results parses --json output lines.
func results(t *testing.T, out string) []gateway.Result {
	t.Helper()
	var rs []gateway.Result
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r gateway.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestRolloutAReaL plays three questions through the AReaL stand-in:
// every session runs start → chat… → reward → end, with the reward sleuth
// printed.
func TestRolloutAReaL(t *testing.T) {
	w, index := worldIndex(t)
	gw := gatewaytest.NewAReaL("admin-secret", openai.New(protocolBackend{}, openai.Config{}))
	defer gw.Close()
	t.Setenv("AREAL_ADMIN_KEY", "admin-secret")
	out, err := runCmd(t, "rollout", "areal", "--gateway", gw.URL, "--data", questionFile(t, w, 5), "--limit", "3",
		"--preset", "searchr1", "--index", index, "--concurrency", "2", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rs := results(t, out)
	sessions := gw.Sessions()
	if len(rs) != 3 || len(sessions) != 3 {
		t.Fatalf("%d results, %d sessions", len(rs), len(sessions))
	}
	calls := gw.Calls()
	for _, r := range rs {
		s := sessions[r.ID]
		if !r.Reported || !s.Ended || len(s.Rewards) != 1 || s.Rewards[0] != r.Reward || s.Interactions != r.Turns {
			t.Errorf("result %+v, session %+v", r, s)
		}
		var seq []string
		for _, c := range calls {
			if strings.HasSuffix(c, " "+s.ID) || strings.Contains(c, " "+s.ID+" ") || c == "start "+r.ID {
				seq = append(seq, strings.Fields(c)[0])
			}
		}
		if got := strings.Join(seq, " "); got != "start "+strings.Repeat("chat ", r.Turns)+"reward end" {
			t.Errorf("%s: calls %q", r.ID, got)
		}
	}

	// The wrong admin key: refused, and the command says so.
	t.Setenv("AREAL_ADMIN_KEY", "guess")
	if _, err := runCmd(t, "rollout", "areal", "--gateway", gw.URL, "--data", questionFile(t, w, 1), "--preset", "searchr1", "--index", index); err == nil {
		t.Fatal("a wrong admin key went unnoticed")
	}
}

// TestRolloutAGL is one Agent Lightning rollout process: model calls
// through the rollout's proxy URL, then its reward event.
func TestRolloutAGL(t *testing.T) {
	w, index := worldIndex(t)
	gw := gatewaytest.NewAGL("server-key", openai.New(protocolBackend{}, openai.Config{}))
	defer gw.Close()
	for k, v := range gw.AddRollout("ro-1") {
		t.Setenv(k, v)
	}
	q := w.Questions[0]
	task, _ := json.Marshal(map[string]any{"id": q.ID, "question": q.Question, "golden_answers": q.Answers})
	t.Setenv("SLEUTH_TASK", string(task))
	out, err := runCmd(t, "rollout", "agl", "--preset", "searchr1", "--index", index, "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r := results(t, out)[0]
	calls := gw.Calls()
	want := strings.TrimSpace(strings.Repeat("model ro-1 completions|", r.Turns) + "event ro-1 reward")
	if got := strings.Join(calls, "|"); got != want || !r.Reported {
		t.Fatalf("calls %q, want %q (result %+v)", got, want, r)
	}
	ev := gw.Events("ro-1")[0]
	if ev.Data["value"] != r.Reward || ev.Data["reason"] != string(r.Status) || ev.Data["components"] == nil {
		t.Fatalf("reward event %+v for result %+v", ev, r)
	}

	// A key the server does not hold: the model calls are refused, no
	// reward goes out, and the process fails.
	t.Setenv("AGL_KEY", "wrong")
	if out, err := runCmd(t, "rollout", "agl", "--preset", "searchr1", "--index", index, "--json"); err == nil {
		t.Fatalf("a wrong key went unnoticed: %s", out)
	}
	if n := len(gw.Events("ro-1")); n != 1 {
		t.Fatalf("%d reward events, want 1", n)
	}
}
