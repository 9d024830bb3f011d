package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/rl"
)

// hostile is text a page or a model could produce to break out of the UI.
const hostile = `</pre></span><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`

func writeLines(t testing.TB, path string, vs ...any) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
}

func metricLine(step int, warn bool) map[string]any {
	m := map[string]any{"phase": "rl", "step": step, "loss": 1.0 / float64(step+1),
		"rl": map[string]any{"reward": float64(step%7) / 7, "em": float64(step%5) / 5, "kl": 0.01 * float64(step), "entropy": 1.5 - 0.01*float64(step),
			"clip_fraction": 0.1, "response_tokens": 40 + float64(step%9), "searches": 1 + float64(step%3)/3}}
	if warn {
		m["warnings"] = []rl.Warning{{Step: step, Kind: "kl_spike", Saw: "KL " + hostile, Remedy: "lower the learning rate"}}
	}
	return m
}

// fixture writes an evaluation with a hostile episode, a training run of
// steps lines with a warning, and a stray file.
func fixture(t testing.TB, steps int) string {
	t.Helper()
	dir := t.TempDir()
	ev := filepath.Join(dir, `eval-"<i>x<i>`)
	train := filepath.Join(dir, "train-1")
	for _, d := range []string{ev, train} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sum := eval.Summary{Info: eval.RunInfo{Preset: "searchr1", Model: "policy " + hostile},
		Overall: eval.DatasetSummary{Dataset: "all", Questions: 2, EM: eval.Interval{Mean: 0.5, Lo: 0, Hi: 1}, F1: eval.Interval{Mean: 0.6}}}
	writeLines(t, filepath.Join(ev, "summary.json"), sum)
	ep := agent.Episode{ID: "q1", Question: "Where was Ada Quill born? " + hostile, Preset: "searchr1", Status: agent.Answered, Answer: "Tarsk " + hostile,
		Context: []agent.Segment{
			{Source: agent.Env, Role: agent.MainRole, Text: "Question: Where was Ada Quill born?\n", TokenIDs: []int{1, 2, 3}},
			{Source: agent.Policy, Role: agent.MainRole, Text: "<search> Ada Quill </search>", TokenIDs: []int{4, 5}, Logprobs: []float64{-0.5, -0.25}},
			{Source: agent.Env, Role: agent.MainRole, Turn: 0, Text: "<information>Doc 1(Title: " + hostile + ")</information>", TokenIDs: []int{6}},
			{Source: agent.Policy, Role: agent.MainRole, Turn: 1, Text: "<answer> Tarsk </answer>", TokenIDs: []int{7}, Logprobs: []float64{-0.1}},
		},
		Turns: []agent.Turn{
			{Index: 0, Role: agent.MainRole, Completion: "<search> Ada Quill </search>", Action: agent.Action{Kind: "search", Query: "Ada Quill"},
				Calls: []agent.ToolCall{{Tool: "search", Input: "Ada Quill", Hits: []agent.HitRef{{ID: "p2", Title: hostile, Score: 3, New: true}}, Observation: "Doc 1 " + hostile}}},
			{Index: 1, Role: agent.MainRole, Completion: "<answer> Tarsk </answer>", Action: agent.Action{Kind: "answer", Answer: "Tarsk"}},
		},
		Ledger: agent.Ledger{Turns: 2, Searches: 1, Wall: 3 * time.Millisecond}}
	ep2 := ep
	ep2.ID, ep2.Status, ep2.Answer = "q2", agent.OverBudget, ""
	writeLines(t, filepath.Join(ev, "traces.jsonl"), ep, ep2)
	evB := filepath.Join(dir, "eval-b")
	if err := os.MkdirAll(evB, 0o755); err != nil {
		t.Fatal(err)
	}
	writeLines(t, filepath.Join(evB, "summary.json"), sum)
	writeLines(t, filepath.Join(ev, "results.jsonl"),
		eval.Result{ID: "q1", Question: "Where? " + hostile, Answers: []string{"Tarsk"}, Prediction: "Tarsk", EM: 1, F1: 1},
		eval.Result{ID: "q2", Question: "Who?", Answers: []string{"Ada"}, Prediction: "Bob", EM: 0},
		eval.Result{ID: "q3", Question: "When?", Answers: []string{"1900"}, Prediction: "1900", EM: 1, F1: 1})
	writeLines(t, filepath.Join(evB, "results.jsonl"),
		eval.Result{ID: "q1", Question: "Where? " + hostile, Answers: []string{"Tarsk"}, Prediction: hostile, EM: 0},
		eval.Result{ID: "q2", Question: "Who?", Answers: []string{"Ada"}, Prediction: "Ada", EM: 1, F1: 1},
		eval.Result{ID: "q3", Question: "When?", Answers: []string{"1900"}, Prediction: "1900", EM: 1, F1: 1},
		eval.Result{ID: "q4", Question: "Only in B", Answers: []string{"x"}, Prediction: "x", EM: 1, F1: 1})
	for i := range steps {
		writeLines(t, filepath.Join(train, "metrics.jsonl"), metricLine(i, i == steps/2))
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a run"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func newTestServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	s, err := New(dir, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts
}

func TestPagesEscapeEverything(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fixture(t, 20))
	evalPath := "/runs/" + `eval-"<i>x<i>`
	for _, path := range []string{"/", "/runs/train-1", evalPath, evalPath + "/episodes/0"} {
		status, h, body := get(t, ts.URL+strings.ReplaceAll(strings.ReplaceAll(path, `"`, "%22"), "<", "%3C"))
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		if strings.Contains(body, "<script>window") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<i>x<i>") {
			t.Errorf("%s: unescaped hostile text in the page", path)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: no CSP", path)
		}
	}
	_, _, ep := get(t, ts.URL+strings.ReplaceAll(strings.ReplaceAll(evalPath, `"`, "%22"), "<", "%3C")+"/episodes/0")
	for _, want := range []string{`class="policy"`, `mean logprob -0.375`, "&lt;script&gt;window.__pwned=1&lt;/script&gt;", "turn 2"} {
		if !strings.Contains(ep, want) {
			t.Errorf("episode page lacks %q", want)
		}
	}
	_, _, runs := get(t, ts.URL+"/")
	if !strings.Contains(runs, `data-kind="training"`) || !strings.Contains(runs, `data-kind="evaluation"`) || strings.Contains(runs, "notes.txt") {
		t.Errorf("runs list:\n%s", runs)
	}
}

func TestNothingOutsideTheRunsDirectory(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fixture(t, 3))
	for _, path := range []string{"/runs/%2e%2e", "/runs/..%2F..%2Fetc", "/runs/train-1%2F..%2F..", "/runs/nosuch", "/runs/train-1/episodes/0", "/runs/train-1/episodes/-1", "/api/runs/..%2F/metrics", "/static/../ui.go"} {
		if status, _, body := get(t, ts.URL+path); status != 404 && status != 400 && status != 301 {
			t.Errorf("%s: %d %.200s", path, status, body)
		}
	}
}

func TestMetricsAPI(t *testing.T) {
	t.Parallel()
	dir := fixture(t, 10)
	ts := newTestServer(t, dir)
	// A line still being written is not served until its newline.
	f, err := os.OpenFile(filepath.Join(dir, "train-1", "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `{"phase":"rl","step":10,`)
	f.Close()
	_, _, body := get(t, ts.URL+"/api/runs/train-1/metrics?from=8")
	var got struct {
		From    int      `json:"from"`
		Metrics []Metric `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.From != 8 || len(got.Metrics) != 2 || got.Metrics[1].Step != 9 || got.Metrics[1].RL == nil {
		t.Errorf("metrics from 8: %s", body)
	}
}

func TestCurve(t *testing.T) {
	t.Parallel()
	s := series{Points: [][2]float64{{0, 1}, {1, 3}, {3, 2}}}
	if got, want := curve(s, 4), "0.0,95.0 100.0,5.0 300.0,50.0"; got != want {
		t.Errorf("curve = %q, want %q", got, want)
	}
	if got := curve(series{}, 4); got != "" {
		t.Errorf("empty curve = %q", got)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, fixture(t, 3))
	status, _, body := get(t, ts.URL+"/compare?a="+url.QueryEscape(`eval-"<i>x<i>`)+"&b=eval-b")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	for _, want := range []string{"On the 3 questions both answered, B − A: EM 0.0%", "2 questions changed", "&lt;script&gt;window.__pwned=1"} {
		if !strings.Contains(body, want) {
			t.Errorf("compare page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>window") || strings.Contains(body, "Only in B") {
		t.Errorf("compare page: unescaped text, or a question only one run has")
	}
	if i, j := strings.Index(body, "<td>Who?</td>"), strings.Index(body, "<td>Where?"); i < 0 || j < 0 || i > j {
		t.Errorf("B's gain should come before its loss")
	}
	_, _, body = get(t, ts.URL+"/compare?a=..&b=eval-b")
	if !strings.Contains(body, "unknown run") {
		t.Errorf("compare with a bad run name: %.300s", body)
	}
}
