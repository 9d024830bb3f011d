package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/vision"
)

// runAsk runs `sleuth ask` with args and decodes its --json result.
func runAsk(t *testing.T, args ...string) (askResult, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(append([]string{"ask"}, args...))
	if err := cmd.Execute(); err != nil {
		return askResult{}, err
	}
	var res askResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	return res, nil
}

// TestAskVRAG runs the vrag preset from the command line over the world's
// passages rendered as pages (--index) and over a directory of page images
// (--pages).
func TestAskVRAG(t *testing.T) {
	w, index := worldIndex(t)
	srv := httptest.NewServer(openai.New(protocolBackend{}, openai.Config{Model: "scripted"}))
	defer srv.Close()

	pages := t.TempDir()
	for i, text := range []string{"the founder of the lab", "a chart of rainfall"} {
		img := image.NewRGBA(image.Rect(0, 0, 300, 200))
		img.Set(10, 10, color.Black)
		f, err := os.Create(filepath.Join(pages, []string{"p0", "p1"}[i]+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := vision.Encode(f, img, "png"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		os.WriteFile(filepath.Join(pages, []string{"p0", "p1"}[i]+".txt"), []byte(text), 0o644)
	}
	tests := []struct {
		name     string
		args     []string
		evidence string // the first evidence id; "" for any
	}{
		{name: "rendered world pages", args: []string{"--index", index, "--page-side", "400"}},
		{name: "page directory", args: []string{"--pages", pages}, evidence: "p0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "trace.jsonl")
			res, err := runAsk(t, append([]string{w.Questions[0].Question, "--preset", "vrag", "--llm", srv.URL + "/v1", "--json", "--trace-out", trace}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Answer != "Tarsk" || res.Status != agent.Answered || len(res.Evidence) == 0 {
				t.Fatalf("result %+v", res)
			}
			if tc.evidence != "" && res.Evidence[0].ID != tc.evidence {
				t.Errorf("evidence %+v, want %s first", res.Evidence, tc.evidence)
			}
			b, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			var ep agent.Episode
			if err := json.Unmarshal(b, &ep); err != nil {
				t.Fatal(err)
			}
			if len(ep.Images) != 1 || ep.Images[0].Kind != "page" || ep.Images[0].SHA256 == "" {
				t.Errorf("trace images %+v", ep.Images)
			}
		})
	}
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"ask", "founder", "--preset", "vrag", "--pages", pages, "--llm", srv.URL + "/v1", "--trace"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "image: page p0, 300×200 px") {
		t.Errorf("--trace output lacks the page shown (%v):\n%s", err, out.String())
	}
	if _, err := runAsk(t, "q", "--preset", "searchr1", "--pages", pages, "--llm", srv.URL+"/v1"); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("--pages with searchr1: %v, want an error naming the missing region action", err)
	}
	if _, err := runAsk(t, "q", "--preset", "vrag", "--pages", pages, "--index", index, "--llm", srv.URL+"/v1"); err == nil {
		t.Error("--pages with --index succeeded")
	}
}

// TestAskVRAGImageChat: with --image-chat the pages reach an
// OpenAI-compatible chat endpoint as image_url parts.
func TestAskVRAGImageChat(t *testing.T) {
	w, index := worldIndex(t)
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.URL.Path+" "+string(b))
		n := len(bodies)
		mu.Unlock()
		text := "<search> founder </search>"
		if n > 1 {
			text = "<answer> Tarsk </answer>"
		}
		msg, _ := json.Marshal(text)
		io.WriteString(rw, `{"model":"vlm","choices":[{"index":0,"message":{"role":"assistant","content":`+string(msg)+`},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5}}`)
	}))
	defer srv.Close()
	res, err := runAsk(t, w.Questions[0].Question, "--preset", "vrag", "--index", index, "--llm", srv.URL+"/v1", "--image-chat", "--image-only", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if res.Answer != "Tarsk" || len(bodies) != 2 {
		t.Fatalf("result %+v after %d requests", res, len(bodies))
	}
	if !strings.HasPrefix(bodies[1], "/v1/chat/completions ") || !strings.Contains(bodies[1], `{"type":"image_url","image_url":{"url":"data:image/png;base64,`) {
		t.Errorf("second request carries no image part: %.300s", bodies[1])
	}
}

// TestAskVRAGSharedPages runs `sleuth ask --preset vrag --pages` over real
// page images (ViDoRe ArxivQA, captions written here since the images carry
// no text) and scores the trace with the vrag reward preset: the page found
// is the one the qrels name, so retrieval NDCG is 1.
func TestAskVRAGSharedPages(t *testing.T) {
	src := shareddata.Path(t, "visual/vidore_arxivqa_sample")
	pages := t.TempDir()
	for i := range 10 {
		name := string(rune('0'+i)) + ".png"
		if err := os.Symlink(filepath.Join(src, "images", name), filepath.Join(pages, name)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(pages, "0.txt"), []byte("graph: surface density trend when correcting for fspec"), 0o644)
	os.WriteFile(filepath.Join(pages, "1.txt"), []byte("thread participation JUL10 to FEB11Q"), 0o644)
	srv := httptest.NewServer(openai.New(questionBackend{}, openai.Config{Model: "scripted"}))
	defer srv.Close()
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	q := "Based on the graph, what is the impact of correcting for fspec not equal to 1 on the surface density trend?"
	if _, err := runAsk(t, q, "--preset", "vrag", "--pages", pages, "--page-side", "512", "--llm", srv.URL+"/v1", "--json", "--trace-out", trace); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var ep agent.Episode
	if err := json.Unmarshal(b, &ep); err != nil {
		t.Fatal(err)
	}
	cfg, err := reward.LoadConfig("vrag")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := cfg.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fn.Score(t.Context(), &ep, reward.Gold{Question: q, Answers: []string{"Tarsk"}, Supporting: []string{"0"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Images) != 1 || ep.Images[0].Page != "0" || ep.Images[0].Width != 512 {
		t.Errorf("images %+v, want page 0 shown at 512 px", ep.Images)
	}
	if sc.Total < 0.99 {
		t.Errorf("vrag reward %+v, want the full score", sc)
	}
}

// questionBackend searches with the question itself, then answers.
type questionBackend struct{}

func (questionBackend) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	_, q, _ := strings.Cut(req.Prompt, "Question: ")
	q, _, _ = strings.Cut(q, "\n")
	text := "<search> " + q + " </search>"
	if strings.Contains(req.Prompt, "\n\n<information>") {
		text = "<answer> Tarsk </answer>"
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
