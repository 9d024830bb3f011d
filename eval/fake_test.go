package eval

import (
	"context"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/searchtest"
)

// scripted is a text-only policy for eval tests: reply maps the prompt
// (the whole context so far) to the next completion. before, when set, is
// called first on every generation (to hold a run mid-flight).
type scripted struct {
	reply  func(prompt string) string
	before func()
	mu     sync.Mutex
	calls  int
}

func (s *scripted) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	if s.before != nil {
		s.before()
	}
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	out := s.reply(req.Prompt)
	c := llm.Choice{Text: out, FinishReason: "length"}
	for _, st := range req.Stop {
		if i := strings.Index(out, st); i >= 0 {
			c = llm.Choice{Text: out[:i], FinishReason: "stop", StopString: st}
			break
		}
	}
	return llm.Response{Choices: []llm.Choice{c}, Usage: llm.Usage{PromptTokens: len(req.Prompt) / 4, CompletionTokens: len(c.Text) / 4}}, nil
}

// questionOf is the text after the last "Question: " line of a prompt.
func questionOf(prompt string) string {
	i := strings.LastIndex(prompt, "Question: ")
	if i < 0 {
		return ""
	}
	q := prompt[i+len("Question: "):]
	if j := strings.IndexByte(q, '\n'); j >= 0 {
		q = q[:j]
	}
	return strings.TrimSpace(q)
}

// wordIndex is the tests' word-overlap retriever.
type wordIndex = searchtest.Words

func newTestRunner(preset string, pol llm.Client, idx search.Retriever) (*agent.Runner, error) {
	p, err := agent.LoadPreset(preset)
	if err != nil {
		return nil, err
	}
	r := &agent.Runner{Preset: p, Policy: pol}
	if idx != nil {
		r.Tools = map[string]agent.Tool{"search": agent.SearchTool{R: idx}}
	}
	return r, nil
}
