package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// TestEvalLeakageGuard: a web evaluation (deepresearcher over the
// simulated web) runs under the built-in deny-list, which leaves the
// simulated site alone; with a rule that covers the site every search
// result is dropped, and summary.json, report.md and the printout count
// them.
func TestEvalLeakageGuard(t *testing.T) {
	w, err := world.Generate(world.Config{Seed: 11, Entities: 120, Questions: 60})
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(w, web.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	webSrv := httptest.NewServer(site)
	defer webSrv.Close()
	q := w.Questions[0]
	llmSrv := httptest.NewServer(openai.New(researcher{query: q.Chain[0].Query, answer: q.Answers[0]}, openai.Config{}))
	defer llmSrv.Close()
	dir := t.TempDir()
	data := filepath.Join(dir, "q.jsonl")
	line, _ := json.Marshal(map[string]any{"id": "q0", "question": q.Question, "golden_answers": q.Answers})
	if err := os.WriteFile(data, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	deny := filepath.Join(dir, "deny.txt")
	if err := os.WriteFile(deny, []byte("# the simulated site publishes the answers\n127.0.0.1/wiki\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(out string, extra ...string) (string, eval.Summary, error) {
		var buf bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&buf)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"eval", "--preset", "deepresearcher", "--data", data, "--search", "searxng:" + webSrv.URL, "--browse", "--allow-loopback",
			"--llm", llmSrv.URL + "/v1", "--out", out, "--llm-retries", "1"}, extra...))
		err := cmd.Execute()
		var s eval.Summary
		b, rerr := os.ReadFile(filepath.Join(out, "summary.json"))
		if rerr == nil {
			rerr = json.Unmarshal(b, &s)
		}
		if rerr != nil {
			t.Fatalf("summary: %v (eval: %v)\n%s", rerr, err, buf.String())
		}
		return buf.String(), s, err
	}
	text, s, err := run(filepath.Join(dir, "open"))
	if err != nil {
		t.Fatalf("built-in list: %v\n%s", err, text)
	}
	if g := s.Info.LeakageGuard; g == nil || g.Rules < 20 || g.BlockedResults != 0 || g.BlockedFetches != 0 || s.Overall.EM.Mean != 1 {
		t.Fatalf("built-in list: guard %+v, EM %v; want nothing blocked and the answer found", g, s.Overall.EM.Mean)
	}
	text, s, _ = run(filepath.Join(dir, "denied"), "--deny-list", deny)
	g := s.Info.LeakageGuard
	if g == nil || g.Rules != guard.DefaultDenyList().Len()+1 || g.BlockedResults == 0 || s.Overall.EM.Mean != 0 {
		t.Fatalf("site denied: guard %+v, EM %v; want its results blocked and no answer", g, s.Overall.EM.Mean)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "denied", "report.md"))
	if !strings.Contains(text, "search results and 0 page fetches blocked") || !strings.Contains(string(md), "Leakage guard:") {
		t.Errorf("printout or report.md lacks the guard's count:\n%s\n%s", text, md)
	}
	if _, s, _ := run(filepath.Join(dir, "off"), "--no-deny-list"); s.Info.LeakageGuard != nil {
		t.Errorf("--no-deny-list still reports a guard: %+v", s.Info.LeakageGuard)
	}
}
