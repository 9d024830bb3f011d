package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

var firstURL = regexp.MustCompile(`URL: (http://[^\s,)]+)`)

// researcher plays DeepResearcher's policy and its browser: search, then
// browse the first result with a goal, then answer; the browser keeps the
// first sentence of each part and stops.
type researcher struct {
	query, answer string
}

func (r researcher) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	p := req.Prompt
	var text string
	switch {
	case strings.Contains(p, "You are reading a web page"):
		part := p[strings.LastIndex(p, "part "):]
		lines := strings.SplitN(part, "\n", 3)
		fact, _, _ := strings.Cut(lines[min(1, len(lines)-1)], ".")
		text = "- " + strings.TrimSpace(fact) + ".\nSTOP"
	case strings.Contains(p, "Notes:"):
		text = "<think>the notes say it</think><answer>" + r.answer + "</answer>"
	case strings.Contains(p, "<tool_response>\n"):
		u := firstURL.FindStringSubmatch(p[strings.LastIndex(p, "<tool_response>"):])
		if u == nil {
			return llm.Response{}, fmt.Errorf("no URL in the search results")
		}
		text = `<think>open it</think><tool_call>{"name": "browse_webpage", "arguments": {"url_list": ["` + u[1] + `"], "goal": "find the fact"}}</tool_call>`
	default:
		text = `<think>search first</think><tool_call>{"name": "web_search", "arguments": {"query": ["` + r.query + `"]}}</tool_call>`
	}
	c := llm.Choice{Text: text, FinishReason: "stop"}
	for _, st := range req.Stop {
		if i := strings.Index(text, st); i >= 0 {
			c.Text, c.StopString = text[:i], st
			break
		}
	}
	return llm.Response{Choices: []llm.Choice{c}}, nil
}

// TestDeepResearcherOnSimulatedWeb: `sleuth ask --preset deepresearcher`
// against `sleuth web serve` and an OpenAI-compatible server, end to end
// over loopback; the trace shows searches, browsed parts, notes and URLs.
func TestDeepResearcherOnSimulatedWeb(t *testing.T) {
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

	snap := filepath.Join(t.TempDir(), "snap")
	ask := func(extra ...string) askResult {
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"ask", q.Question, "--preset", "deepresearcher", "--browse", "--allow-loopback",
			"--llm", llmSrv.URL + "/v1", "--json", "--trace"}, extra...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		var res askResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := ask("--search", "searxng:"+webSrv.URL, "--record", snap)
	if res.Status != agent.Answered || res.Answer != q.Answers[0] {
		t.Fatalf("status %s answer %q", res.Status, res.Answer)
	}
	var browsed *agent.ToolCall
	for _, turn := range res.Episode.Turns {
		for i, c := range turn.Calls {
			if c.Tool == "browse" {
				browsed = &turn.Calls[i]
			}
		}
	}
	if browsed == nil || len(browsed.Log) == 0 || !strings.Contains(browsed.Log[0], "read part 1/") || !strings.Contains(browsed.Observation, "Notes:\n- ") {
		t.Fatalf("no browsed segments or notes in the trace: %+v", browsed)
	}
	if len(res.Evidence) == 0 || !strings.HasPrefix(res.Evidence[0].ID, webSrv.URL) {
		t.Errorf("evidence %+v does not cite URLs of the simulated web", res.Evidence)
	}
	if len(res.Queries) != 1 || res.Queries[0] != q.Chain[0].Query {
		t.Errorf("queries %q", res.Queries)
	}
	// Replaying the recorded searches and pages needs no web at all.
	webSrv.Close()
	replayed := ask("--replay", snap, "--search", "searxng:")
	if replayed.Answer != res.Answer || len(replayed.Evidence) != len(res.Evidence) {
		t.Errorf("replay answered %q with %d sources, recorded run %q with %d", replayed.Answer, len(replayed.Evidence), res.Answer, len(res.Evidence))
	}
	if len(replayed.Episode.Context) != len(res.Episode.Context) {
		t.Fatalf("replayed trace has %d segments, recorded %d", len(replayed.Episode.Context), len(res.Episode.Context))
	}
	for i := range res.Episode.Context {
		if a, b := res.Episode.Context[i].Text, replayed.Episode.Context[i].Text; a != b {
			t.Errorf("segment %d differs on replay:\n%q\n%q", i, a, b)
		}
	}
}
