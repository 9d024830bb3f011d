package dense

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

// TestClientWireFormat checks the request body byte for byte and parses a
// response written exactly as OpenAI's API writes one.
func TestClientWireFormat(t *testing.T) {
	t.Parallel()
	wantReq, err := os.ReadFile("testdata/openai_request.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := os.ReadFile("testdata/openai_response.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotReq []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			t.Errorf("request %s %s, want POST /v1/embeddings", r.Method, r.URL.Path)
		}
		gotReq, _ = io.ReadAll(r.Body)
		gotHeader = r.Header
		w.Header().Set("Content-Type", "application/json")
		w.Write(resp)
	}))
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1/", Model: "intfloat/e5-base-v2", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := c.Embed(context.Background(), []string{"query: who wrote hamlet", "passage: Hamlet is a tragedy by William Shakespeare."})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(wantReq)), string(gotReq)); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	if got := gotHeader.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	if got := gotHeader.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	want := [][]float32{{0.0023064255, -0.009327292, 0.015797347, -0.0028842222}, {-0.0061205425, 0.0132416, 0.0008531341, 0.019003287}}
	if diff := cmp.Diff(want, vecs); diff != "" {
		t.Errorf("vectors (-want +got):\n%s", diff)
	}
}

// TestDoubleSpeaksTheWireFormat pins the double's response to the recorded
// OpenAI layout, so tests against it exercise what real servers send.
func TestDoubleSpeaksTheWireFormat(t *testing.T) {
	t.Parallel()
	resp, err := os.ReadFile("testdata/openai_response.json")
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := ParseEmbeddingsResponse(resp, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := densetest.Response(vecs, "intfloat/e5-base-v2", 17)
	if diff := cmp.Diff(string(resp), string(got)); diff != "" {
		t.Errorf("double's response differs from OpenAI's bytes (-openai +double):\n%s", diff)
	}
}

func TestClientBatchesInOrder(t *testing.T) {
	t.Parallel()
	d := &densetest.Server{Dim: 16, Delay: 20 * time.Millisecond, MaxBatch: 3}
	srv := httptest.NewServer(d)
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", BatchSize: 3, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i := range 14 {
		texts = append(texts, fmt.Sprintf("text number %d about topic %d", i, i%3))
	}
	vecs, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		if diff := cmp.Diff(densetest.HashEmbed(texts[i], 16), v); diff != "" {
			t.Fatalf("vector %d is not text %d's (-want +got):\n%s", i, i, diff)
		}
	}
	reqs := d.Requests()
	if len(reqs) != 5 {
		t.Errorf("%d requests for 14 texts in batches of 3, want 5", len(reqs))
	}
	for _, r := range reqs {
		if r.EncodingFormat != "float" {
			t.Errorf("encoding_format %q, want float", r.EncodingFormat)
		}
	}
	if p := d.PeakInFlight(); p != 2 {
		t.Errorf("peak of %d requests in flight, want the concurrency limit 2", p)
	}
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fail       int
		status     int
		retries    int
		wantErr    string
		wantTrials int
	}{
		{name: "503 then ok", fail: 2, status: 503, retries: 4, wantTrials: 3},
		{name: "429 then ok", fail: 1, status: 429, retries: 4, wantTrials: 2},
		{name: "503 beyond retries", fail: 10, status: 503, retries: 2, wantErr: "overloaded", wantTrials: 3},
		{name: "400 not retried", fail: 10, status: 400, retries: 4, wantErr: "400", wantTrials: 1},
		{name: "no retries", fail: 1, status: 500, retries: -1, wantErr: "500", wantTrials: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &densetest.Server{Dim: 8, Fail: tc.fail, FailStatus: tc.status}
			srv := httptest.NewServer(d)
			defer srv.Close()
			c, _ := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", MaxRetries: tc.retries, Backoff: time.Millisecond})
			_, err := c.Embed(context.Background(), []string{"a b c"})
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if n := len(d.Requests()); n != tc.wantTrials {
				t.Errorf("%d requests, want %d", n, tc.wantTrials)
			}
		})
	}
}

func TestParseEmbeddingsResponse(t *testing.T) {
	t.Parallel()
	b64 := func(v ...float32) string {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name, body string
		n          int
		want       [][]float32
		wantErr    string
	}{
		{name: "out of order", n: 2, body: `{"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2]}]}`, want: [][]float32{{1, 2}, {3, 4}}},
		{name: "base64", n: 1, body: `{"data":[{"index":0,"embedding":"` + b64(0.5, -1.25) + `"}]}`, want: [][]float32{{0.5, -1.25}}},
		{name: "no index (Ollama)", n: 2, body: `{"data":[{"embedding":[1]},{"embedding":[2]}]}`, want: [][]float32{{1}, {2}}},
		{name: "count", n: 2, body: `{"data":[{"index":0,"embedding":[1]}]}`, wantErr: "1 embeddings for 2 inputs"},
		{name: "repeated index", n: 2, body: `{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]}`, wantErr: "repeated"},
		{name: "ragged", n: 2, body: `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1,2]}]}`, wantErr: "dimension"},
		{name: "empty vector", n: 1, body: `{"data":[{"index":0,"embedding":[]}]}`, wantErr: "dimension"},
		{name: "not numbers", n: 1, body: `{"data":[{"index":0,"embedding":["x"]}]}`, wantErr: "list of numbers"},
		{name: "bad base64", n: 1, body: `{"data":[{"index":0,"embedding":"@@@"}]}`, wantErr: "base64"},
		{name: "overflow", n: 1, body: `{"data":[{"index":0,"embedding":[1e300]}]}`, wantErr: "+Inf"},
		{name: "not json", n: 1, body: `<html>`, wantErr: "embeddings response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEmbeddingsResponse([]byte(tc.body), tc.n)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"error":{"message":"model not found","type":"invalid_request_error"}}`: "model not found",
		`{"error":"Input validation error"}`:                                     "Input validation error",
		`Bad Gateway`:                                                            `"Bad Gateway"`,
	} {
		if got := errorMessage([]byte(body)); got != want {
			t.Errorf("errorMessage(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzParseEmbeddingsResponse(f *testing.F) {
	resp, _ := os.ReadFile("testdata/openai_response.json")
	f.Add(resp, 2)
	f.Add([]byte(`{"data":[{"index":0,"embedding":"AAAAPw=="}]}`), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n < 0 || n > 64 || len(data) > 1<<16 {
			return
		}
		vecs, err := ParseEmbeddingsResponse(data, n)
		if err != nil {
			return
		}
		if len(vecs) != n {
			t.Fatalf("%d vectors for n=%d", len(vecs), n)
		}
		for _, v := range vecs {
			if len(v) != len(vecs[0]) || len(v) == 0 {
				t.Fatal("ragged or empty vectors accepted")
			}
		}
	})
}
