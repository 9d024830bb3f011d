package dense

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ClientConfig configures a Client. Zero values take the documented
// defaults.
type ClientConfig struct {
	// BaseURL of an OpenAI-compatible API, such as http://127.0.0.1:8080/v1
	// (vLLM, TEI, Ollama, llama.cpp's server); the client POSTs to
	// BaseURL/embeddings. Required.
	BaseURL string
	// Model is sent as "model". Servers serving one model ignore it.
	Model string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// Dimensions, when positive, is sent as "dimensions" (models that can
	// shorten their vectors).
	Dimensions int
	// BatchSize is the most texts in one request. Default 64.
	BatchSize int
	// Concurrency is the most requests in flight at once, across all Embed
	// calls on the client. Default 4.
	Concurrency int
	// MaxRetries is how often a failed request (connection error, 408, 429,
	// 5xx) is retried. Default 4; negative means none.
	MaxRetries int
	// Backoff is the wait before the first retry, doubling after each, or
	// the server's Retry-After when it gives one (capped at 30 s).
	// Default 500 ms.
	Backoff time.Duration
	// Timeout bounds one request. Default 60 s.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client of its own.
	HTTPClient *http.Client
}

// Client embeds texts with an OpenAI-compatible /v1/embeddings server. It
// is safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	url  string
	hc   *http.Client
	sema chan struct{}
}

var _ Embedder = (*Client)(nil)

// NewClient returns a client for cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("embeddings client: BaseURL is required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, url: strings.TrimSuffix(cfg.BaseURL, "/") + "/embeddings", hc: hc, sema: make(chan struct{}, cfg.Concurrency)}, nil
}

// Embed implements Embedder: texts go out in batches of BatchSize, at most
// Concurrency requests at once; the first failure cancels the rest.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for start := 0; start < len(texts); start += c.cfg.BatchSize {
		end := min(start+c.cfg.BatchSize, len(texts))
		acquired := false
		select {
		case c.sema <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-c.sema
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-c.sema }()
			vecs, err := c.embedBatch(ctx, texts[start:end])
			if err != nil {
				once.Do(func() { first = fmt.Errorf("embed texts [%d,%d): %w", start, end, err); cancel() })
				return
			}
			copy(out[start:end], vecs)
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := sameDim(out); err != nil {
		return nil, err
	}
	return out, nil
}

func sameDim(vs [][]float32) error {
	for i, v := range vs {
		if len(v) == 0 || len(v) != len(vs[0]) {
			return fmt.Errorf("embeddings: vector %d has dimension %d, vector 0 has %d", i, len(v), len(vs[0]))
		}
	}
	return nil
}

// embeddingsRequest is the body OpenAI's API takes.
type embeddingsRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

// retryable is an error worth another try.
type retryable struct {
	err        error
	retryAfter time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// embedBatch sends one request, retrying transient failures.
func (c *Client) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(embeddingsRequest{Input: texts, Model: c.cfg.Model, EncodingFormat: "float", Dimensions: c.cfg.Dimensions})
	if err != nil {
		return nil, err
	}
	wait := c.cfg.Backoff
	for attempt := 0; ; attempt++ {
		vecs, err := c.post(ctx, body, len(texts))
		var rt *retryable
		if err == nil || !errors.As(err, &rt) || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			return vecs, err
		}
		d := wait
		if rt.retryAfter > 0 {
			d = min(rt.retryAfter, 30*time.Second)
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

func (c *Client) post(ctx context.Context, body []byte, n int) ([][]float32, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &retryable{err: fmt.Errorf("POST %s: %w", c.url, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, &retryable{err: fmt.Errorf("POST %s: read: %w", c.url, err)}
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("POST %s: %s: %s", c.url, resp.Status, errorMessage(data))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500 {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			return nil, &retryable{err: err, retryAfter: time.Duration(secs) * time.Second}
		}
		return nil, err
	}
	vecs, err := ParseEmbeddingsResponse(data, n)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", c.url, err)
	}
	return vecs, nil
}

// errorMessage pulls {"error":{"message":...}} (OpenAI) or {"error":"..."}
// (TEI, Ollama) out of an error body, or quotes its start.
func errorMessage(data []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil && s != "" {
			return s
		}
	}
	s := string(data)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// ParseEmbeddingsResponse reads an OpenAI embeddings response,
//
//	{"object":"list","data":[{"object":"embedding","index":0,"embedding":[...]}],"model":...,"usage":{...}}
//
// and returns the n vectors in index order. An embedding may also be a
// base64 string of little-endian float32s (encoding_format "base64", which
// some servers send regardless). Every index in [0,n) must appear once and
// every vector must have the same, non-zero dimension.
func ParseEmbeddingsResponse(data []byte, n int) ([][]float32, error) {
	var resp struct {
		Data []struct {
			Index     *int            `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("embeddings response: %w", err)
	}
	if len(resp.Data) != n {
		return nil, fmt.Errorf("embeddings response: %d embeddings for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	for i, d := range resp.Data {
		idx := i
		if d.Index != nil {
			idx = *d.Index
		}
		if idx < 0 || idx >= n || out[idx] != nil {
			return nil, fmt.Errorf("embeddings response: entry %d has index %d, out of range or repeated", i, idx)
		}
		v, err := decodeEmbedding(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embeddings response: entry %d: %w", i, err)
		}
		out[idx] = v
	}
	if n > 0 {
		if err := sameDim(out); err != nil {
			return nil, fmt.Errorf("embeddings response: %w", err)
		}
	}
	return out, nil
}

func decodeEmbedding(raw json.RawMessage) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("base64 embedding: %w", err)
		}
		if len(b)%4 != 0 {
			return nil, fmt.Errorf("base64 embedding of %d bytes, not whole float32s", len(b))
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return checkFinite(v)
	}
	var f64 []float64
	if err := json.Unmarshal(raw, &f64); err != nil {
		return nil, fmt.Errorf("embedding is not a list of numbers: %w", err)
	}
	v := make([]float32, len(f64))
	for i, x := range f64 {
		v[i] = float32(x)
	}
	return checkFinite(v)
}

func checkFinite(v []float32) ([]float32, error) {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("embedding holds %v", x)
		}
	}
	return v, nil
}
