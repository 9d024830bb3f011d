package llm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HTTPConfig configures an OpenAI-compatible HTTP client. Zero fields take
// the defaults noted.
type HTTPConfig struct {
	BaseURL        string        // e.g. "http://127.0.0.1:8000/v1" (required)
	Model          string        // sent when a Request names none
	APIKeyEnv      string        // environment variable holding the API key (default OPENAI_API_KEY; unset is fine for local servers)
	Timeout        time.Duration // per attempt (default 2 minutes)
	MaxRetries     int           // retries after the first attempt on 429, 5xx and connection errors (default 4; -1 for none)
	Backoff        time.Duration // first retry delay, doubled each retry, with jitter (default 500ms)
	MaxConcurrency int           // requests in flight to this endpoint (default 16)
	// TokenIDs asks vLLM-style servers for token ids (return_token_ids) and
	// sends prompts given as ids as ids. Servers that ignore it still work:
	// choices then come back without TokenIDs.
	TokenIDs   bool
	HTTPClient *http.Client // default: a client with the per-attempt timeout
}

// HTTPClient talks to an OpenAI-compatible server: OpenAI, vLLM, SGLang,
// Ollama's /v1, or sleuth's own. Requests with Messages go to
// /chat/completions, the others to /completions.
type HTTPClient struct {
	cfg    HTTPConfig
	apiKey string
	sem    chan struct{}
	hc     *http.Client
}

// NewHTTP returns a client for cfg.
func NewHTTP(cfg HTTPConfig) (*HTTPClient, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("llm http client: BaseURL is required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.APIKeyEnv == "" {
		cfg.APIKeyEnv = "OPENAI_API_KEY"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 16
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &HTTPClient{cfg: cfg, apiKey: os.Getenv(cfg.APIKeyEnv), sem: make(chan struct{}, cfg.MaxConcurrency), hc: hc}, nil
}

// APIError is an error answer from the server.
type APIError struct {
	Status  int
	Type    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("llm server answered %d %s: %s", e.Status, e.Type, e.Message)
}

// Generate sends req and waits for the whole answer.
func (c *HTTPClient) Generate(ctx context.Context, req Request) (Response, error) {
	return c.do(ctx, req, nil)
}

// GenerateStream sends req with stream=true and reports tokens as they
// arrive. A streamed token carries its text and logprob; its ID is -1
// unless the server sent ids.
func (c *HTTPClient) GenerateStream(ctx context.Context, req Request, emit func(int, Token) error) (Response, error) {
	return c.do(ctx, req, emit)
}

func (c *HTTPClient) do(ctx context.Context, req Request, emit func(int, Token) error) (Response, error) {
	path, body, err := c.body(req, emit != nil)
	if err != nil {
		return Response{}, err
	}
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		resp, retry, err := c.attempt(ctx, path, body, req, emit)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retry || attempt >= c.cfg.MaxRetries || ctx.Err() != nil {
			break
		}
		delay := c.cfg.Backoff << attempt
		var ra *retryAfter
		if errors.As(err, &ra) && ra.d > delay {
			delay = ra.d
		}
		delay += time.Duration(rand.Int64N(int64(delay)/4 + 1))
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return Response{}, fmt.Errorf("%s: %w (last error: %v)", path, ctx.Err(), lastErr)
		}
	}
	return Response{}, fmt.Errorf("%s%s: %w", c.cfg.BaseURL, path, lastErr)
}

type retryAfter struct {
	err error
	d   time.Duration
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

// attempt makes one HTTP exchange; retry says whether a failure is worth
// another try (429, 5xx, connection trouble) rather than final (4xx).
func (c *HTTPClient) attempt(ctx context.Context, path string, body []byte, req Request, emit func(int, Token) error) (Response, bool, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return Response{}, false, fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return Response{}, ctx.Err() == nil && isTransient(err), err
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(hresp.Body, 64<<10))
		apiErr := parseAPIError(hresp.StatusCode, b)
		retry := hresp.StatusCode == http.StatusTooManyRequests || hresp.StatusCode == http.StatusRequestTimeout || hresp.StatusCode >= 500
		if s, err := strconv.Atoi(hresp.Header.Get("Retry-After")); err == nil && retry {
			return Response{}, true, &retryAfter{err: apiErr, d: time.Duration(s) * time.Second}
		}
		return Response{}, retry, apiErr
	}
	var resp Response
	if emit != nil {
		resp, err = readStream(hresp.Body, req, emit)
	} else {
		resp, err = readWhole(hresp.Body, req)
	}
	if err != nil {
		// A body cut off mid-way is a connection problem; a body that
		// parses wrongly is the server's contract broken: do not retry.
		return Response{}, isTransient(err), err
	}
	return resp, false, nil
}

func isTransient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "connection refused")
}

func parseAPIError(status int, b []byte) *APIError {
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	e := &APIError{Status: status, Message: strings.TrimSpace(string(b))}
	if json.Unmarshal(b, &body) == nil && len(body.Error) > 0 {
		var obj struct{ Message, Type string }
		var s string
		if json.Unmarshal(body.Error, &obj) == nil && obj.Message != "" {
			e.Message, e.Type = obj.Message, obj.Type
		} else if json.Unmarshal(body.Error, &s) == nil {
			e.Message = s // Ollama and some proxies send a plain string
		}
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	return e
}

// body renders req as a completions or chat request.
func (c *HTTPClient) body(req Request, stream bool) (string, []byte, error) {
	if req.MaxTokens <= 0 {
		return "", nil, &InvalidRequestError{Msg: "MaxTokens must be positive"}
	}
	model := req.Model
	if model == "" {
		model = c.cfg.Model
	}
	m := map[string]any{"model": model, "max_tokens": req.MaxTokens, "temperature": req.Temperature, "n": max(req.N, 1), "stream": stream}
	if req.TopP > 0 && req.TopP < 1 {
		m["top_p"] = req.TopP
	}
	if req.TopK > 0 {
		m["top_k"] = req.TopK
	}
	if req.Seed != nil {
		m["seed"] = *req.Seed
	}
	if len(req.Stop) > 0 {
		m["stop"] = req.Stop
	}
	if c.cfg.TokenIDs {
		m["return_token_ids"] = true
	}
	if stream {
		m["stream_options"] = map[string]bool{"include_usage": true}
	}
	path := "/completions"
	switch {
	case len(req.PromptIDs) > 0:
		m["prompt"] = req.PromptIDs
	case len(req.Messages) > 0 && req.Prompt == "":
		path = "/chat/completions"
		m["messages"] = req.Messages
	default:
		m["prompt"] = req.Prompt
	}
	if req.Logprobs {
		if path == "/completions" {
			m["logprobs"] = 0
		} else {
			m["logprobs"] = true
		}
	}
	b, err := json.Marshal(m)
	return path, b, err
}

// wireChoice covers both completions and chat choices, whole or streamed.
type wireChoice struct {
	Index        int     `json:"index"`
	Text         *string `json:"text"`
	FinishReason *string `json:"finish_reason"`
	Message      *struct {
		Content *string `json:"content"`
	} `json:"message"`
	Delta *struct {
		Content *string `json:"content"`
	} `json:"delta"`
	Logprobs *struct {
		Tokens        []string  `json:"tokens"`
		TokenLogprobs []float64 `json:"token_logprobs"`
		Content       []struct {
			Token   string  `json:"token"`
			Logprob float64 `json:"logprob"`
		} `json:"content"`
	} `json:"logprobs"`
	TokenIDs   []int           `json:"token_ids"`
	PromptIDs  []int           `json:"prompt_token_ids"`
	StopReason json.RawMessage `json:"stop_reason"` // vLLM: the matched stop string, a stop token id, or null
}

type wireResponse struct {
	Model     string       `json:"model"`
	Choices   []wireChoice `json:"choices"`
	PromptIDs []int        `json:"prompt_token_ids"`
	Usage     *Usage       `json:"usage"`
	Error     any          `json:"error"`
}

func readWhole(r io.Reader, req Request) (Response, error) {
	var w wireResponse
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(&w); err != nil {
		return Response{}, fmt.Errorf("decode response: %w", err)
	}
	acc := newAccumulator(req)
	acc.add(w)
	return acc.response()
}

func readStream(r io.Reader, req Request, emit func(int, Token) error) (Response, error) {
	acc := newAccumulator(req)
	br := bufio.NewReaderSize(r, 64<<10)
	sawDone := false
	for {
		line, err := br.ReadString('\n')
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data:"); ok {
			data = strings.TrimSpace(data)
			if data == "[DONE]" {
				sawDone = true
				break
			}
			var w wireResponse
			if jerr := json.Unmarshal([]byte(data), &w); jerr != nil {
				return Response{}, fmt.Errorf("decode stream event %q: %w", truncate(data, 200), jerr)
			}
			if w.Error != nil {
				return Response{}, fmt.Errorf("stream error event: %v", w.Error)
			}
			if err := acc.addStreamed(w, emit); err != nil {
				return Response{}, err
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return Response{}, fmt.Errorf("read stream: %w", err)
		}
	}
	if !sawDone && !acc.allFinished() {
		return Response{}, fmt.Errorf("stream ended before [DONE]: %w", io.ErrUnexpectedEOF)
	}
	return acc.response()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// accumulator assembles choices from whole responses or stream chunks.
type accumulator struct {
	n       int
	resp    Response
	choices map[int]*Choice
	done    map[int]bool
}

func newAccumulator(req Request) *accumulator {
	return &accumulator{n: max(req.N, 1), choices: map[int]*Choice{}, done: map[int]bool{}}
}

func (a *accumulator) choice(i int) *Choice {
	c, ok := a.choices[i]
	if !ok {
		c = &Choice{}
		a.choices[i] = c
	}
	return c
}

func (a *accumulator) header(w wireResponse) {
	if w.Model != "" {
		a.resp.Model = w.Model
	}
	if len(w.PromptIDs) > 0 {
		a.resp.PromptIDs = w.PromptIDs
	}
	if w.Usage != nil {
		a.resp.Usage = *w.Usage
	}
}

// add merges one chunk's choices; it returns the new tokens of each choice.
func (a *accumulator) merge(w wireResponse) map[int][]Token {
	a.header(w)
	fresh := map[int][]Token{}
	for _, wc := range w.Choices {
		c := a.choice(wc.Index)
		text := ""
		switch {
		case wc.Text != nil:
			text = *wc.Text
		case wc.Message != nil && wc.Message.Content != nil:
			text = *wc.Message.Content
		case wc.Delta != nil && wc.Delta.Content != nil:
			text = *wc.Delta.Content
		}
		c.Text += text
		var toks []Token
		if lp := wc.Logprobs; lp != nil {
			for i, t := range lp.Tokens {
				v := 0.0
				if i < len(lp.TokenLogprobs) {
					v = lp.TokenLogprobs[i]
				}
				toks = append(toks, Token{ID: -1, Text: t, Logprob: v})
			}
			for _, t := range lp.Content {
				toks = append(toks, Token{ID: -1, Text: t.Token, Logprob: t.Logprob})
			}
		}
		// vLLM's return_tokens_as_token_ids renders tokens as "token_id:N".
		for i := range toks {
			if id, ok := strings.CutPrefix(toks[i].Text, "token_id:"); ok {
				if n, err := strconv.Atoi(id); err == nil {
					toks[i].ID = n
				}
			}
		}
		if len(wc.TokenIDs) == len(toks) {
			for i := range toks {
				toks[i].ID = wc.TokenIDs[i]
			}
		}
		c.TokenIDs = append(c.TokenIDs, wc.TokenIDs...)
		for _, t := range toks {
			c.Tokens = append(c.Tokens, t.Text)
			c.Logprobs = append(c.Logprobs, t.Logprob)
			if len(wc.TokenIDs) == 0 && t.ID >= 0 {
				c.TokenIDs = append(c.TokenIDs, t.ID)
			}
		}
		if len(wc.PromptIDs) > 0 {
			a.resp.PromptIDs = wc.PromptIDs
		}
		var stopStr string
		if len(wc.StopReason) > 0 && json.Unmarshal(wc.StopReason, &stopStr) == nil && stopStr != "" {
			c.StopString = stopStr
		}
		if wc.FinishReason != nil && *wc.FinishReason != "" {
			c.FinishReason = *wc.FinishReason
			a.done[wc.Index] = true
		}
		if len(toks) == 0 && text != "" {
			toks = []Token{{ID: -1, Text: text}}
		}
		fresh[wc.Index] = toks
	}
	return fresh
}

func (a *accumulator) add(w wireResponse) { a.merge(w) }

func (a *accumulator) addStreamed(w wireResponse, emit func(int, Token) error) error {
	fresh := a.merge(w)
	idx := make([]int, 0, len(fresh))
	for i := range fresh {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		for _, t := range fresh[i] {
			if err := emit(i, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *accumulator) allFinished() bool { return len(a.done) >= a.n }

func (a *accumulator) response() (Response, error) {
	if len(a.choices) == 0 {
		return Response{}, errors.New("response has no choices")
	}
	out := a.resp
	for i := 0; i < len(a.choices); i++ {
		c, ok := a.choices[i]
		if !ok {
			return Response{}, fmt.Errorf("response lacks choice %d of %d", i, len(a.choices))
		}
		if len(c.TokenIDs) > 0 && len(c.Logprobs) > 0 && len(c.TokenIDs) != len(c.Logprobs) {
			c.TokenIDs = nil // inconsistent ids are worse than none: callers then re-derive
		}
		out.Choices = append(out.Choices, *c)
	}
	return out, nil
}
