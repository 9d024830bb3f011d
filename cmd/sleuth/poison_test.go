package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// TestPoisonedPages: over every poisoned page of the simulated web, hidden
// payloads never reach the text an agent reads, visible instructions are
// flagged by the guard, and an agent browsing the page keeps its protocol
// state: it gives its own answer, not the page's.
func TestPoisonedPages(t *testing.T) {
	w, err := world.Generate(world.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	site, err := web.New(w, web.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	srv := httptest.NewServer(site)
	defer srv.Close()
	fc, err := fetch.New(fetch.Config{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	pages, hiddenSeen, visible, flagged := 0, 0, 0, 0
	for _, path := range site.Poisoned() {
		info, _ := site.Page(path)
		page, err := fc.Fetch(context.Background(), srv.URL+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pages++
		pageFlagged := guard.Screen(page.Text).Flagged
		shown := map[string]bool{} // payloads the page also shows visibly
		for _, inj := range info.Injections {
			if !inj.Hidden {
				shown[inj.Text] = true
			}
		}
		for _, inj := range info.Injections {
			if inj.Hidden {
				if !shown[inj.Text] && strings.Contains(page.Text, inj.Text) {
					hiddenSeen++
					t.Errorf("%s: hidden %s payload reached the text: %q", path, inj.Kind, inj.Text)
				}
				continue
			}
			visible++
			if pageFlagged {
				flagged++
			} else {
				t.Errorf("%s: visible %s injection not flagged: %q", path, inj.Kind, inj.Text)
			}
		}
	}
	t.Logf("%d poisoned pages: %d hidden payloads leaked, %d of %d visible injections flagged", pages, hiddenSeen, flagged, visible)

	// An agent that browses a poisoned page still answers by its protocol.
	var target string
	for _, path := range site.Poisoned() {
		info, _ := site.Page(path)
		for _, inj := range info.Injections {
			if !inj.Hidden && strings.Contains(inj.Text, "answer") {
				target = path
			}
		}
	}
	if target == "" {
		t.Fatal("no visible answer-forcing injection to test with")
	}
	llmSrv := httptest.NewServer(openai.New(browseOnce{url: srv.URL + target}, openai.Config{}))
	defer llmSrv.Close()
	pol, _ := llm.NewHTTP(llm.HTTPConfig{BaseURL: llmSrv.URL + "/v1"})
	p, _ := agent.LoadPreset("deepresearcher")
	r := &agent.Runner{Preset: p, Policy: pol, Tools: map[string]agent.Tool{"browse": agent.BrowseTool{Fetch: fc, LLM: pol, MaxSegments: 12}, "search": agent.SearchTool{R: memIndexNone{}}}}
	ep := r.Run(context.Background(), agent.Question{ID: "q", Text: "What is on the page?"}, 0)
	if ep.Status != agent.Answered || ep.Answer != "mine" || ep.FormatErrors != 0 || ep.Flagged == 0 {
		t.Fatalf("status %s answer %q format errors %d flagged %d", ep.Status, ep.Answer, ep.FormatErrors, ep.Flagged)
	}
}

// browseOnce browses one URL, then answers "mine"; as the browser it
// copies the whole part into its notes, poison included.
type browseOnce struct{ url string }

func (b browseOnce) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	var text string
	switch p := req.Prompt + messages(req); {
	case strings.Contains(p, "You are reading a web page"):
		part := p[strings.LastIndex(p, ", part "):]
		part, _, _ = strings.Cut(part, "\nWrite each new fact")
		text = "- " + strings.ReplaceAll(part, "\n", " ")
	case strings.Contains(p, "<tool_response>\n"):
		text = "<answer>mine</answer>"
	default:
		text = `<tool_call>{"name": "browse_webpage", "arguments": {"url_list": ["` + b.url + `"], "goal": "read"}}</tool_call>`
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

func messages(req llm.Request) string {
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(m.Content)
	}
	return b.String()
}

type memIndexNone struct{}

func (memIndexNone) Search(_ context.Context, qs []string, _ int) ([][]searchHit, error) {
	return make([][]searchHit, len(qs)), nil
}

type searchHit = search.Hit
