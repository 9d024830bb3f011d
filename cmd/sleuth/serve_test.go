package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServeRetrieveWorld serves a real BM25 index of a generated world and
// checks Search-R1's request and response shapes end to end.
func TestServeRetrieveWorld(t *testing.T) {
	t.Parallel()
	w, err := world.Generate(world.Config{Seed: 5, Entities: 120, Questions: 60})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "index")
	if _, err := bm25.Build(context.Background(), dir, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	h, closeFn, err := buildServeHandler(serveFlags{index: dir, topk: 3, maxTopK: 20, maxQueries: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()

	q := w.Questions[0].Chain[0].Query
	got, b := retrieveScored(t, srv.URL, `{"queries":[`+jsonString(q)+`,"nothing matches zzzz"],"topk":2,"return_scores":true}`)
	if len(got.Result) != 2 || len(got.Result[0]) != 2 || got.Result[0][0].Score <= 0 || !strings.HasPrefix(got.Result[0][0].Document.Contents, `"`) {
		t.Fatalf("result = %s", b)
	}
	for _, bad := range []string{`{"queries":"x"}`, `{"queries":[]}`, `{"queries":["a"],"topk":500}`, `not json`} {
		if status, b := postJSON(t, srv.URL+"/retrieve", bad); status < 400 || status >= 500 {
			t.Errorf("%s: status %d %s, want 4xx", bad, status, b)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	resp.Body.Close()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestServeModelMatchesGenerate: /v1/completions gives the same greedy
// text as `sleuth generate`, with OpenAI-format logprobs, and survives bad
// requests.
func TestServeModelMatchesGenerate(t *testing.T) {
	t.Parallel()
	modelPath := shareddata.Path(t, "models/aidreams260K.bin")
	tokPath := shareddata.Path(t, "models/aidreams260K_tok512.bin")

	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"generate", "--model", modelPath, "--tokenizer", tokPath, "--prompt-ids", "1", "--max-tokens", "30", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var gen struct{ Text string }
	if err := json.Unmarshal(out.Bytes(), &gen); err != nil {
		t.Fatal(err)
	}

	h, closeFn, err := buildServeHandler(serveFlags{model: modelPath, tokenizer: tokPath})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	status, b := postJSON(t, srv.URL+"/v1/completions", `{"prompt":[1],"max_tokens":30,"temperature":0,"logprobs":0}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	var resp struct {
		Choices []struct {
			Text     string
			Logprobs struct {
				Tokens        []string
				TokenLogprobs []float64 `json:"token_logprobs"`
			}
		}
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.Text != gen.Text || !strings.Contains(c.Text, "Echoes of vectors unfold") {
		t.Errorf("served %q, generate printed %q", c.Text, gen.Text)
	}
	if len(c.Logprobs.Tokens) != 30 || len(c.Logprobs.TokenLogprobs) != 30 {
		t.Errorf("logprobs: %d tokens, %d values", len(c.Logprobs.Tokens), len(c.Logprobs.TokenLogprobs))
	}
	// Concurrent good and bad requests: bad ones get 4xx, the server stays up.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"prompt":[1],"max_tokens":5}`
			want := 200
			if i%2 == 1 {
				body, want = `{"prompt":[1,99999],"max_tokens":5}`, 400
			}
			if status, b := postJSON(t, srv.URL+"/v1/completions", body); status != want {
				t.Errorf("request %d: status %d %s, want %d", i, status, b, want)
			}
		}()
	}
	wg.Wait()
}

// retrievedScored is a /retrieve answer with return_scores.
type retrievedScored struct {
	Result [][]struct {
		Document struct{ ID, Contents string }
		Score    float64
	}
}

// retrieveScored posts body to base/retrieve, wants 200, and decodes the
// answer (also returned raw, for messages).
func retrieveScored(t *testing.T, base, body string) (retrievedScored, []byte) {
	t.Helper()
	var got retrievedScored
	status, b := postJSON(t, base+"/retrieve", body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return got, b
}
