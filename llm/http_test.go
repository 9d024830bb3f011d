package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/openai"
)

// words is a backend for sleuth's own OpenAI server: choice i is the
// tokens " i0", " i1", … with ids 10*i+k and logprobs -(k+1)/10.
type words struct{}

func (words) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	resp := llm.Response{Model: "w", PromptIDs: []int{1, 2}}
	for i := 0; i < max(req.N, 1); i++ {
		c := llm.Choice{FinishReason: "length"}
		for k := 0; k < req.MaxTokens; k++ {
			t := fmt.Sprintf(" %d%d", i, k)
			c.Text += t
			c.Tokens = append(c.Tokens, t)
			c.TokenIDs = append(c.TokenIDs, 10*i+k)
			c.Logprobs = append(c.Logprobs, -float64(k+1)/10)
		}
		resp.Choices = append(resp.Choices, c)
		resp.Usage.CompletionTokens += req.MaxTokens
	}
	resp.Usage.PromptTokens = 2
	return resp, nil
}

func newClient(t *testing.T, url string, mod func(*llm.HTTPConfig)) *llm.HTTPClient {
	t.Helper()
	cfg := llm.HTTPConfig{BaseURL: url, Backoff: time.Millisecond, TokenIDs: true}
	if mod != nil {
		mod(&cfg)
	}
	c, err := llm.NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAgainstSleuthServer(t *testing.T) {
	srv := httptest.NewServer(openai.New(words{}, openai.Config{Model: "w"}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/v1", nil)
	want := llm.Choice{Text: " 10 11 12", Tokens: []string{" 10", " 11", " 12"}, TokenIDs: []int{10, 11, 12}, Logprobs: []float64{-0.1, -0.2, -0.3}, FinishReason: "length"}
	for _, tc := range []struct {
		name string
		req  llm.Request
	}{
		{"text", llm.Request{Prompt: "hi", MaxTokens: 3, N: 2, Logprobs: true}},
		{"ids", llm.Request{PromptIDs: []int{5, 6}, MaxTokens: 3, N: 2, Logprobs: true}},
		{"chat", llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 3, N: 2, Logprobs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				var got llm.Response
				var err error
				var streamed strings.Builder
				if stream {
					got, err = c.GenerateStream(context.Background(), tc.req, func(i int, tok llm.Token) error {
						if i == 1 {
							streamed.WriteString(tok.Text)
						}
						return nil
					})
				} else {
					got, err = c.Generate(context.Background(), tc.req)
				}
				if err != nil {
					t.Fatalf("stream=%v: %v", stream, err)
				}
				if len(got.Choices) != 2 {
					t.Fatalf("stream=%v: %d choices", stream, len(got.Choices))
				}
				if d := cmp.Diff(want, got.Choices[1]); d != "" {
					t.Errorf("stream=%v choice 1 (-want +got):\n%s", stream, d)
				}
				if stream && streamed.String() != want.Text {
					t.Errorf("streamed %q, want %q", streamed.String(), want.Text)
				}
				if got.Usage.CompletionTokens != 6 {
					t.Errorf("stream=%v usage %+v", stream, got.Usage)
				}
			}
		})
	}
}

// replay answers every request with a recorded body in a provider's format.
func replay(t *testing.T, file string, status int, ctype string) *httptest.Server {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(b)
	}))
}

func TestRecordedProviderBodies(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		req        llm.Request
		stream     bool
		want       llm.Response
	}{
		{"vllm completion with token ids", "vllm_completion_token_ids.json", llm.Request{PromptIDs: []int{785, 6722, 315, 9625, 374}, MaxTokens: 8, Logprobs: true}, false,
			llm.Response{Model: "Qwen/Qwen2.5-0.5B-Instruct", PromptIDs: []int{785, 6722, 315, 9625, 374}, Usage: llm.Usage{PromptTokens: 5, CompletionTokens: 2},
				Choices: []llm.Choice{{Text: " Paris.", TokenIDs: []int{12095, 13}, Tokens: []string{"token_id:12095", "token_id:13"}, Logprobs: []float64{-0.0312, -0.2541}, FinishReason: "stop"}}}},
		{"openai chat with logprobs", "openai_chat_logprobs.json", llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 8, Logprobs: true}, false,
			llm.Response{Model: "gpt-4o-mini-2024-07-18", Usage: llm.Usage{PromptTokens: 9, CompletionTokens: 2},
				Choices: []llm.Choice{{Text: "Hello!", Tokens: []string{"Hello", "!"}, Logprobs: []float64{-0.0009, -0.0152}, FinishReason: "stop"}}}},
		{"ollama chat", "ollama_chat.json", llm.Request{Messages: []llm.Message{{Role: "user", Content: "why"}}, MaxTokens: 64}, false,
			llm.Response{Model: "llama3.2", Usage: llm.Usage{PromptTokens: 30, CompletionTokens: 10},
				Choices: []llm.Choice{{Text: "The sky is blue because of Rayleigh scattering.", FinishReason: "stop"}}}},
		{"openai chat stream", "openai_chat_stream.sse", llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 8}, true,
			llm.Response{Model: "gpt-4o-mini", Usage: llm.Usage{PromptTokens: 8, CompletionTokens: 2},
				Choices: []llm.Choice{{Text: "Hi there", FinishReason: "stop"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := "application/json"
			if tc.stream {
				ctype = "text/event-stream"
			}
			srv := replay(t, tc.file, 200, ctype)
			defer srv.Close()
			c := newClient(t, srv.URL, nil)
			var got llm.Response
			var err error
			if tc.stream {
				got, err = c.GenerateStream(context.Background(), tc.req, func(int, llm.Token) error { return nil })
			} else {
				got, err = c.Generate(context.Background(), tc.req)
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestErrorsAndRetries(t *testing.T) {
	t.Run("non-retryable 404 with provider message", func(t *testing.T) {
		srv := replay(t, "ollama_error_404.json", 404, "application/json")
		defer srv.Close()
		_, err := newClient(t, srv.URL, nil).Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1})
		var ae *llm.APIError
		if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Message, "not found") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("429 then 503 then success", func(t *testing.T) {
		var calls atomic.Int32
		backend := openai.New(words{}, openai.Config{})
		rate, _ := os.ReadFile("testdata/openai_error_429.json")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch calls.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(429)
				w.Write(rate)
			case 2:
				w.WriteHeader(503)
				io.WriteString(w, "upstream busy")
			default:
				backend.ServeHTTP(w, r)
			}
		}))
		defer srv.Close()
		got, err := newClient(t, srv.URL+"/v1", nil).Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 2})
		if err != nil || got.Choices[0].Text != " 00 01" || calls.Load() != 3 {
			t.Fatalf("got %+v, %v after %d calls", got, err, calls.Load())
		}
	})
	t.Run("retries give up", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(500)
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL, func(c *llm.HTTPConfig) { c.MaxRetries = 2 }).Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1})
		if err == nil || calls.Load() != 3 {
			t.Fatalf("err %v after %d calls, want failure after 3", err, calls.Load())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newClient(t, url, func(c *llm.HTTPConfig) { c.MaxRetries = 1 }).Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1})
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stream cut before DONE", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"text\":\"a\"}]}\n\n")
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL, func(c *llm.HTTPConfig) { c.MaxRetries = -1 }).GenerateStream(context.Background(), llm.Request{Prompt: "x", MaxTokens: 3}, func(int, llm.Token) error { return nil })
		if err == nil {
			t.Fatal("a stream without [DONE] or finish_reason succeeded")
		}
	})
	t.Run("cancel while backing off", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := newClient(t, srv.URL, func(c *llm.HTTPConfig) { c.Backoff = time.Hour }).Generate(ctx, llm.Request{Prompt: "x", MaxTokens: 1})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
	})
}

func TestConcurrencyLimitAndAPIKey(t *testing.T) {
	t.Setenv("SLEUTH_TEST_KEY", "sk-test")
	var inFlight, peak atomic.Int32
	backend := openai.New(words{}, openai.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			w.WriteHeader(401)
			return
		}
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		backend.ServeHTTP(w, r)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/v1", func(c *llm.HTTPConfig) { c.MaxConcurrency = 3; c.APIKeyEnv = "SLEUTH_TEST_KEY" })
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("peak in-flight %d exceeds the limit 3", p)
	}
}

// FuzzResponseBody: whatever a server sends, the client returns a
// response or an error, never a panic.
func FuzzResponseBody(f *testing.F) {
	for _, name := range []string{"vllm_completion_token_ids.json", "openai_chat_logprobs.json", "ollama_chat.json", "openai_chat_stream.sse"} {
		b, _ := os.ReadFile("testdata/" + name)
		f.Add(b)
	}
	f.Add([]byte(`{"choices":[{"index":5}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		defer srv.Close()
		c, _ := llm.NewHTTP(llm.HTTPConfig{BaseURL: srv.URL, MaxRetries: -1})
		resp, err := c.Generate(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1, N: 2})
		if err == nil {
			_, _ = json.Marshal(resp)
		}
		_, _ = c.GenerateStream(context.Background(), llm.Request{Prompt: "x", MaxTokens: 1}, func(int, llm.Token) error { return nil })
	})
}
