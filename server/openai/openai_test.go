package openai

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/llm"
)

// scripted is a deterministic backend: choice i of a prompt is the words
// "w0 w1 …" (one token per word, ids 100+k, logprob -0.5*(k+1)), cut at
// MaxTokens or before the first stop string.
type scripted struct {
	stream bool
	fail   error
	panic  bool
}

func (b scripted) choice(req llm.Request, i int) llm.Choice {
	var c llm.Choice
	c.FinishReason = "length"
	for k := 0; k < req.MaxTokens; k++ {
		tok := fmt.Sprintf(" c%dw%d", i, k)
		if stopped(c.Text+tok, req.Stop) {
			c.FinishReason = "stop"
			break
		}
		c.Text += tok
		c.TokenIDs = append(c.TokenIDs, 100+k)
		c.Tokens = append(c.Tokens, tok)
		c.Logprobs = append(c.Logprobs, -0.5*float64(k+1))
	}
	return c
}

func stopped(text string, stops []string) bool {
	for _, s := range stops {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

func (b scripted) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	if b.panic {
		panic("backend exploded")
	}
	if b.fail != nil {
		return llm.Response{}, b.fail
	}
	resp := llm.Response{Model: "m", PromptIDs: []int{1, 2, 3}, Usage: llm.Usage{PromptTokens: 3}}
	for i := 0; i < max(req.N, 1); i++ {
		c := b.choice(req, i)
		resp.Choices = append(resp.Choices, c)
		resp.Usage.CompletionTokens += len(c.TokenIDs)
	}
	return resp, nil
}

type streaming struct{ scripted }

func (b streaming) GenerateStream(ctx context.Context, req llm.Request, emit func(int, llm.Token) error) (llm.Response, error) {
	resp, err := b.Generate(ctx, req)
	if err != nil {
		return resp, err
	}
	for ci, c := range resp.Choices {
		for k := range c.TokenIDs {
			if err := emit(ci, llm.Token{ID: c.TokenIDs[k], Text: c.Tokens[k], Logprob: c.Logprobs[k]}); err != nil {
				return resp, err
			}
		}
	}
	return resp, nil
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestCompletions(t *testing.T) {
	srv := httptest.NewServer(New(scripted{}, Config{Model: "tiny"}))
	defer srv.Close()
	status, b := post(t, srv.URL+"/v1/completions", `{"model":"tiny","prompt":"hi","max_tokens":3,"n":2,"logprobs":0,"return_token_ids":true}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	var got completionResponse
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "text_completion" || !strings.HasPrefix(got.ID, "cmpl-") || got.Model != "tiny" {
		t.Errorf("envelope = %+v", got)
	}
	if len(got.Choices) != 2 {
		t.Fatalf("got %d choices, want 2", len(got.Choices))
	}
	c := got.Choices[1]
	want := completionChoice{Index: 1, Text: " c1w0 c1w1 c1w2", FinishReason: finish("length"), TokenIDs: []int{100, 101, 102}, PromptIDs: []int{1, 2, 3},
		Logprobs: &completionLogprobs{Tokens: []string{" c1w0", " c1w1", " c1w2"}, TokenLogprobs: []float64{-0.5, -1, -1.5}, TextOffset: []int{0, 5, 10}}}
	if d := cmp.Diff(want, c); d != "" {
		t.Errorf("choice 1 (-want +got):\n%s", d)
	}
	if got.Usage == nil || *got.Usage != (usage{PromptTokens: 3, CompletionTokens: 6, TotalTokens: 9}) {
		t.Errorf("usage = %+v", got.Usage)
	}
	// The raw body carries top_logprobs as null, as OpenAI's does.
	if !strings.Contains(string(b), `"top_logprobs":null`) {
		t.Errorf("body lacks top_logprobs null: %s", b)
	}
}

func TestCompletionsPromptForms(t *testing.T) {
	srv := httptest.NewServer(New(scripted{}, Config{}))
	defer srv.Close()
	for _, tc := range []struct {
		prompt  string
		choices int
	}{
		{`"a"`, 1}, {`["a","b"]`, 2}, {`[1,2,3]`, 1}, {`[[1],[2],[3]]`, 3},
	} {
		status, b := post(t, srv.URL+"/v1/completions", `{"prompt":`+tc.prompt+`,"max_tokens":1}`)
		var got completionResponse
		if status != 200 || json.Unmarshal(b, &got) != nil || len(got.Choices) != tc.choices {
			t.Errorf("prompt %s: status %d, body %s; want %d choices", tc.prompt, status, b, tc.choices)
		}
	}
}

func TestChat(t *testing.T) {
	srv := httptest.NewServer(New(scripted{}, Config{}))
	defer srv.Close()
	status, b := post(t, srv.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":2,"logprobs":true,"stop":"c0w1"}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	var got chatResponse
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || len(got.Choices) != 1 {
		t.Fatalf("response = %s", b)
	}
	c := got.Choices[0]
	if *c.Message.Content != " c0w0" || *c.FinishReason != "stop" || c.Message.Role != "assistant" {
		t.Errorf("choice = %s", b)
	}
	if len(c.Logprobs.Content) != 1 || c.Logprobs.Content[0].Logprob != -0.5 || c.Logprobs.Content[0].Token != " c0w0" {
		t.Errorf("logprobs = %+v", c.Logprobs)
	}
}

// readSSE returns the data payloads of an event stream, [DONE] included.
func readSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, line)
		}
	}
	return out
}

func TestStreaming(t *testing.T) {
	for _, backend := range []struct {
		name string
		c    llm.Client
	}{{"streamer", streaming{}}, {"plain", scripted{}}} {
		t.Run(backend.name, func(t *testing.T) {
			srv := httptest.NewServer(New(backend.c, Config{}))
			defer srv.Close()
			for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
				body := `{"prompt":"x","max_tokens":3,"n":2,"stream":true,"stream_options":{"include_usage":true}}`
				if strings.Contains(path, "chat") {
					body = `{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"n":2,"stream":true,"stream_options":{"include_usage":true}}`
				}
				resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				events := readSSE(t, resp.Body)
				resp.Body.Close()
				if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("%s: content type %q", path, ct)
				}
				if len(events) < 3 || events[len(events)-1] != "[DONE]" {
					t.Fatalf("%s: events %q", path, events)
				}
				text := map[int]string{}
				finished := 0
				var u *usage
				for _, ev := range events[:len(events)-1] {
					var chunk struct {
						Choices []struct {
							Index        int
							Text         string
							Delta        *struct{ Content *string }
							FinishReason *string `json:"finish_reason"`
						}
						Usage *usage
					}
					if err := json.Unmarshal([]byte(ev), &chunk); err != nil {
						t.Fatalf("%s: bad event %q: %v", path, ev, err)
					}
					if chunk.Usage != nil {
						u = chunk.Usage
					}
					for _, c := range chunk.Choices {
						text[c.Index] += c.Text
						if c.Delta != nil && c.Delta.Content != nil {
							text[c.Index] += *c.Delta.Content
						}
						if c.FinishReason != nil {
							finished++
						}
					}
				}
				want := map[int]string{0: " c0w0 c0w1 c0w2", 1: " c1w0 c1w1 c1w2"}
				if d := cmp.Diff(want, text); d != "" || finished != 2 {
					t.Errorf("%s: streamed text (-want +got):\n%s finished=%d", path, d, finished)
				}
				if u == nil || u.CompletionTokens != 6 {
					t.Errorf("%s: usage chunk %+v", path, u)
				}
			}
		})
	}
}

func TestBadRequestsKeepServing(t *testing.T) {
	srv := httptest.NewServer(New(scripted{}, Config{Model: "tiny", MaxBodyBytes: 1 << 10}))
	defer srv.Close()
	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"malformed json", "POST", "/v1/completions", `{"prompt":`, 400},
		{"trailing data", "POST", "/v1/completions", `{"prompt":"a"} {}`, 400},
		{"missing prompt", "POST", "/v1/completions", `{"max_tokens":2}`, 400},
		{"prompt wrong type", "POST", "/v1/completions", `{"prompt":{"a":1}}`, 400},
		{"empty id prompt", "POST", "/v1/completions", `{"prompt":[[]]}`, 400},
		{"max_tokens zero", "POST", "/v1/completions", `{"prompt":"a","max_tokens":0}`, 400},
		{"temperature high", "POST", "/v1/completions", `{"prompt":"a","temperature":3}`, 400},
		{"top_p zero", "POST", "/v1/completions", `{"prompt":"a","top_p":0}`, 400},
		{"n zero", "POST", "/v1/completions", `{"prompt":"a","n":0}`, 400},
		{"logprobs too many", "POST", "/v1/completions", `{"prompt":"a","logprobs":30}`, 400},
		{"stop wrong type", "POST", "/v1/completions", `{"prompt":"a","stop":5}`, 400},
		{"unknown model", "POST", "/v1/completions", `{"prompt":"a","model":"gpt-9"}`, 404},
		{"body too large", "POST", "/v1/completions", `{"prompt":"` + strings.Repeat("x", 2000) + `"}`, 413},
		{"chat no messages", "POST", "/v1/chat/completions", `{"messages":[]}`, 400},
		{"chat bad role", "POST", "/v1/chat/completions", `{"messages":[{"role":"wizard","content":"x"}]}`, 400},
		{"top_logprobs without logprobs", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, 400},
		{"wrong method", "GET", "/v1/completions", ``, 405},
		{"unknown path", "GET", "/v2/nothing", ``, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error apiError }
			if resp.StatusCode != tc.status || json.Unmarshal(b, &e) != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("status %d body %s; want %d with a JSON error", resp.StatusCode, b, tc.status)
			}
			if status, b := post(t, srv.URL+"/v1/completions", `{"prompt":"a","max_tokens":1}`); status != 200 {
				t.Errorf("server stopped serving after %s: %d %s", tc.name, status, b)
			}
		})
	}
}

func TestBackendFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      llm.Client
		status int
	}{
		{"error", scripted{fail: errors.New("engine down")}, 500},
		{"invalid", scripted{fail: &llm.InvalidRequestError{Msg: "prompt longer than context"}}, 400},
		{"panic", scripted{panic: true}, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(New(tc.c, Config{}))
			defer srv.Close()
			for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
				body := `{"prompt":"a","messages":[{"role":"user","content":"a"}]}`
				status, b := post(t, srv.URL+path, body)
				if status != tc.status || !strings.Contains(string(b), `"error"`) {
					t.Errorf("%s: %d %s, want %d", path, status, b, tc.status)
				}
			}
			resp, err := http.Get(srv.URL + "/v1/models")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("models after failure: %v %v", resp, err)
			}
			resp.Body.Close()
		})
	}
}

func TestModels(t *testing.T) {
	srv := httptest.NewServer(New(scripted{}, Config{Model: "tiny"}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got modelList
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Object != "list" || len(got.Data) != 1 || got.Data[0].ID != "tiny" || got.Data[0].Object != "model" {
		t.Errorf("models = %+v, %v", got, err)
	}
}

// FuzzRequests feeds arbitrary bodies to both endpoints: the answer is
// always 200 or a 4xx JSON error, never a panic or a 5xx.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{`{"prompt":"a","max_tokens":2}`, `{"prompt":[1,2],"n":3,"logprobs":1,"stream":true}`,
		`{"messages":[{"role":"user","content":"x"}],"stop":["a","b"],"top_k":-1}`, `{"prompt":[[1],[2]],"seed":4}`, `[]`, `null`, `{"prompt":""}`} {
		f.Add(s)
	}
	h := New(scripted{}, Config{MaxTokens: 64, MaxN: 4})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code != 200 && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: non-JSON error %s", path, body, rec.Body)
			}
		}
	})
}
