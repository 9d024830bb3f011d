package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/eval"
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

// TestAGLJobTemplate renders the shipped Job template as Agent
// Lightning's controller does (agentlightning/k8s.py: Jinja2 with job_name
// and input, yaml_escape as json.dumps of the string) and checks the task
// reaches the container in a form `rollout agl` reads.
func TestAGLJobTemplate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "integrations", "agentlightning", "job-template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]any{"id": "q7", "question": `Who wrote "Dune"? Answer: {{ not a template }}`, "golden_answers": []string{"Frank Herbert"}}
	js, _ := json.Marshal(input)       // tojson
	esc, _ := json.Marshal(string(js)) // yaml_escape
	if n := strings.Count(string(b), "{{"); n != 2 {
		t.Fatalf("the template has %d substitutions, want job_name and input", n)
	}
	text := strings.ReplaceAll(string(b), "{{ job_name }}", "agl-rollout-r7")
	text = strings.ReplaceAll(text, "{{ input | tojson | yaml_escape }}", string(esc))
	var job struct {
		Kind     string
		Metadata struct{ Name string }
		Spec     struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string
						Env  []struct{ Name, Value string }
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal([]byte(text), &job); err != nil {
		t.Fatal(err)
	}
	cs := job.Spec.Template.Spec.Containers
	if job.Kind != "Job" || job.Metadata.Name != "agl-rollout-r7" || len(cs) != 1 || len(cs[0].Env) != 1 || cs[0].Env[0].Name != "SLEUTH_TASK" {
		t.Fatalf("rendered job %+v", job)
	}
	qs, err := eval.ParseQuestions([]byte(cs[0].Env[0].Value), "SLEUTH_TASK")
	if err != nil || len(qs) != 1 || qs[0].ID != "q7" || qs[0].Question != input["question"] || qs[0].Answers[0] != "Frank Herbert" {
		t.Fatalf("task %+v, err %v", qs, err)
	}
}
