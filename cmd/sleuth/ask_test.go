package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/world"
)

// worldIndex builds a small world and its index once per test.
func worldIndex(t testing.TB) (*world.World, string) {
	t.Helper()
	w, err := world.Generate(world.Config{Seed: 9, Entities: 120, Questions: 60})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "index")
	if _, err := bm25.Build(context.Background(), dir, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	return w, dir
}

// protocolBackend plays a well-behaved policy for every preset, reading
// only the prompt: it searches once, then answers.
type protocolBackend struct{}

func (protocolBackend) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	p := req.Prompt
	var text string
	switch {
	case strings.Contains(p, "Searches:"): // mmoa rewriter
		text = "first search\nsecond search"
	case strings.Contains(p, "Selected:"): // mmoa selector
		text = "Document0"
	case strings.Contains(p, "Copy the sentences"): // imrag refiner
		text = "A useful sentence."
	case strings.Contains(p, "<relevance>"): // arena
		text = "<relevance>1</relevance><analysis>doc 1 says so</analysis><answer>Tarsk</answer>"
	case strings.Contains(p, "<tool_call>") && !strings.Contains(p, "<tool_response>\n"): // deepresearcher, first turn
		text = `<think>search</think><tool_call>{"name": "web_search", "arguments": {"query": ["a", "b"]}}</tool_call>`
	case strings.Contains(p, "\n\n<information>") || strings.Contains(p, "<tool_response>\n") || strings.Contains(p, "Documents:") || !strings.Contains(p, "<search>"):
		text = "<answer>Tarsk</answer>"
	default:
		text = "<think>look it up</think><search> founder </search>"
	}
	c := llm.Choice{Text: text, FinishReason: "stop"}
	for _, st := range req.Stop {
		if i := strings.Index(text, st); i >= 0 {
			c.Text, c.StopString = text[:i], st
			break
		}
	}
	if strings.Contains(p, "<answer>") && strings.HasSuffix(strings.TrimSpace(p), "<answer>") {
		c.Text = "Tarsk" // mmoa generator: its prompt opens the answer
	}
	return llm.Response{Choices: []llm.Choice{c}, Usage: llm.Usage{PromptTokens: len(p) / 4, CompletionTokens: len(text) / 4}}, nil
}

// TestEveryPresetOverHTTP runs each preset through sleuth's HTTP client
// against an OpenAI-compatible server replaying scripted completions.
func TestEveryPresetOverHTTP(t *testing.T) {
	w, index := worldIndex(t)
	srv := httptest.NewServer(openai.New(protocolBackend{}, openai.Config{Model: "scripted"}))
	defer srv.Close()
	for _, preset := range agent.Presets() {
		t.Run(preset, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&bytes.Buffer{})
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			cmd.SetArgs([]string{"ask", w.Questions[0].Question, "--preset", preset, "--index", index, "--llm", srv.URL + "/v1", "--json", "--trace-out", trace})
			if err := cmd.Execute(); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			var res askResult
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Answer != "Tarsk" || res.Status != agent.Answered {
				t.Fatalf("result %+v", res)
			}
			if preset != "direct" && len(res.Evidence) == 0 {
				t.Errorf("no evidence in %s", out.String())
			}
			b, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			var ep agent.Episode
			if err := json.Unmarshal(b, &ep); err != nil || len(ep.Turns) == 0 {
				t.Fatalf("trace is not one well-formed episode: %v", err)
			}
		})
	}
}

// randomPolicy saves a random from-scratch model with a trained tokenizer:
// nonsense output, but a real engine behind a real server.
func randomPolicy(t testing.TB, w *world.World) string {
	t.Helper()
	dir := t.TempDir()
	texts := func(yield func(string) bool) {
		for _, p := range w.Passages {
			if !yield(p.Text) {
				return
			}
		}
	}
	tok, err := tokenizer.Train(texts, 700, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(model.Config{Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 2, Vocab: tok.VocabSize(), SeqLen: 2048, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// servedRandomModel is `sleuth serve --model` over a random policy for
// worldIndex's world: the world, its index, the policy directory and the
// server's handler (closed when the test ends).
func servedRandomModel(t *testing.T) (*world.World, string, string, http.Handler) {
	w, index := worldIndex(t)
	modelDir := randomPolicy(t, w)
	h, closeFn, err := buildServeHandler(serveFlags{model: modelDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return w, index, modelDir, h
}

// TestEveryPresetAgainstServedModel runs each preset against `sleuth
// serve --model` over loopback with token ids end to end: whatever the
// random model writes, every episode ends well-formed and its token
// streams hold together.
func TestEveryPresetAgainstServedModel(t *testing.T) {
	w, index, _, h := servedRandomModel(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ix, err := bm25.Open(index)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	client, err := llm.NewHTTP(llm.HTTPConfig{BaseURL: srv.URL + "/v1", TokenIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range agent.Presets() {
		p, err := agent.LoadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		p.Budget.TurnTokens, p.Budget.MaxTurns = 24, 3
		r := &agent.Runner{Preset: p, Policy: client, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: ix}}}
		ep := r.Run(context.Background(), agent.Question{ID: "q", Text: w.Questions[1].Question}, 0, agent.WithSeed(3))
		switch ep.Status {
		case agent.Answered, agent.FormatError, agent.OverBudget:
		default:
			t.Errorf("%s: status %s (%s)", name, ep.Status, ep.Reason)
		}
		if len(ep.Turns) == 0 || ep.Ledger.CompletionTokens == 0 {
			t.Errorf("%s: no generation recorded: %+v", name, ep.Ledger)
		}
	}
}

// TestKilledServerFailsEpisodes: the LLM server dies mid-run; affected
// episodes fail with a clear reason, the command exits non-zero with a
// summary, and nothing hangs.
func TestKilledServerFailsEpisodes(t *testing.T) {
	w, index := worldIndex(t)
	var served atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := openai.New(protocolBackend{}, openai.Config{})
	var once sync.Once
	srv := &http.Server{}
	srv.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if served.Add(1) > 6 {
			once.Do(func() { go srv.Close() }) // the server dies
			hj, ok := rw.(http.Hijacker)
			if ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		backend.ServeHTTP(rw, r)
	})
	go srv.Serve(ln)
	defer srv.Close()

	qfile := filepath.Join(t.TempDir(), "q.txt")
	var lines []string
	for _, q := range w.Questions[:12] {
		lines = append(lines, q.Question)
	}
	os.WriteFile(qfile, []byte(strings.Join(lines, "\n")), 0o644)
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"ask", "--questions", qfile, "--preset", "searchr1", "--index", index, "--llm", "http://" + ln.Addr().String() + "/v1", "--concurrency", "2", "--llm-retries", "1"})
	done := make(chan error, 1)
	go func() { done <- cmd.Execute() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("ask --questions hung after the server died")
	}
	if err == nil || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("exit error %v; want a failure", err)
	}
	if !strings.Contains(out.String(), "failed") || !strings.Contains(out.String(), "first failure:") {
		t.Errorf("summary lacks failures: %s", out.String())
	}
}
