package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
)

// SearchR1Client is a Retriever backed by any server speaking Search-R1's
// retrieval protocol: POST {base}/retrieve with
// {"queries":[...],"topk":k,"return_scores":true}, answered by
// {"result":[[{"document":{...},"score":s},...],...]}. sleuth's own
// `sleuth serve` speaks it, as do Search-R1's FastAPI servers.
//
// It is safe for concurrent use.
type SearchR1Client struct {
	url string
	cfg searchR1Config
}

type searchR1Config struct {
	hc         *http.Client
	timeout    time.Duration
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	maxBatch   int
	maxBody    int64
	log        *slog.Logger
}

// SearchR1Option adjusts a SearchR1Client.
type SearchR1Option func(*searchR1Config)

// SearchR1HTTPClient sets the HTTP client. Default: a client with its own
// transport and no overall timeout (SearchR1Timeout bounds each attempt).
func SearchR1HTTPClient(hc *http.Client) SearchR1Option {
	return func(c *searchR1Config) { c.hc = hc }
}

// SearchR1Timeout bounds each HTTP attempt. Default 60 s; negative means none.
func SearchR1Timeout(d time.Duration) SearchR1Option {
	return func(c *searchR1Config) { c.timeout = d }
}

// SearchR1Retries sets how many times a batch is retried after a connection
// error, a 5xx or a 429, sleeping initial, 2×initial, ... (at most max, with
// ±25% jitter) between attempts. Default 3 retries, 200 ms, 5 s. Other
// statuses are never retried.
func SearchR1Retries(n int, initial, max time.Duration) SearchR1Option {
	return func(c *searchR1Config) { c.retries, c.backoff, c.maxBackoff = n, initial, max }
}

// SearchR1MaxBatch splits larger query lists into requests of at most n
// queries, sent one after another. Default 512, sleuth's server limit.
func SearchR1MaxBatch(n int) SearchR1Option {
	return func(c *searchR1Config) { c.maxBatch = n }
}

// SearchR1MaxResponseBytes bounds a response body. Default 256 MiB.
func SearchR1MaxResponseBytes(n int64) SearchR1Option {
	return func(c *searchR1Config) { c.maxBody = n }
}

// SearchR1Logger receives a line per retried attempt. Default: discard.
func SearchR1Logger(l *slog.Logger) SearchR1Option {
	return func(c *searchR1Config) { c.log = l }
}

// NewSearchR1Client returns a client for the server at baseURL (for example
// "http://127.0.0.1:8000"; a URL already ending in /retrieve is used as is).
func NewSearchR1Client(baseURL string, opt ...SearchR1Option) (*SearchR1Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("searchr1 client: base URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("searchr1 client: base URL %q: want http(s)://host[:port]", baseURL)
	}
	if !strings.HasSuffix(u.Path, "/retrieve") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/retrieve"
	}
	cfg := searchR1Config{
		timeout: 60 * time.Second, retries: 3, backoff: 200 * time.Millisecond, maxBackoff: 5 * time.Second,
		maxBatch: 512, maxBody: 256 << 20,
	}
	for _, o := range opt {
		o(&cfg)
	}
	if cfg.hc == nil {
		cfg.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	cfg.retries = max(cfg.retries, 0)
	if cfg.maxBatch <= 0 {
		cfg.maxBatch = 512
	}
	return &SearchR1Client{url: u.String(), cfg: cfg}, nil
}

// URL is the /retrieve endpoint the client posts to.
func (c *SearchR1Client) URL() string { return c.url }

// Search implements Retriever. Passages come back with Title and Text split
// out of "contents" by corpus.SplitContents, so Passage.Contents rebuilds
// the server's string exactly (wiki-18 rows whose first line is an unquoted
// title keep it inside Text); a server that also sends "title" and "text"
// fields is believed over the split. Hits keep the server's order.
func (c *SearchR1Client) Search(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	if k <= 0 {
		return nil, fmt.Errorf("searchr1 %s: k must be positive, got %d", c.url, k)
	}
	out := make([][]Hit, 0, len(queries))
	for start := 0; start < len(queries); start += c.cfg.maxBatch {
		batch := queries[start:min(start+c.cfg.maxBatch, len(queries))]
		hits, err := c.searchBatch(ctx, batch, k)
		if err != nil {
			return nil, fmt.Errorf("searchr1 %s: queries %d..%d: %w", c.url, start, start+len(batch), err)
		}
		out = append(out, hits...)
	}
	return out, nil
}

// searchBatch posts one request, retrying transient failures.
func (c *SearchR1Client) searchBatch(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	body, err := json.Marshal(struct {
		Queries      []string `json:"queries"`
		TopK         int      `json:"topk"`
		ReturnScores bool     `json:"return_scores"`
	}{queries, k, true})
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	wait := c.cfg.backoff
	for attempt := 0; ; attempt++ {
		raw, err := c.post(ctx, body)
		var terr *r1TransientError
		if err == nil || !errors.As(err, &terr) || attempt >= c.cfg.retries || ctx.Err() != nil {
			if err != nil {
				if attempt > 0 {
					err = fmt.Errorf("after %d attempts: %w", attempt+1, err)
				}
				return nil, err
			}
			return ParseSearchR1Response(raw, len(queries), k)
		}
		sleep := time.Duration(float64(wait) * (0.75 + 0.5*rand.Float64()))
		c.cfg.log.Warn("searchr1: retrying", "url", c.url, "attempt", attempt+1, "in", sleep, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting to retry after %v: %w", err, ctx.Err())
		case <-time.After(sleep):
		}
		wait = min(2*wait, c.cfg.maxBackoff)
	}
}

// r1TransientError marks a failure worth retrying.
type r1TransientError struct{ err error }

func (e *r1TransientError) Error() string { return e.err.Error() }
func (e *r1TransientError) Unwrap() error { return e.err }

// post sends one attempt and returns the 200 body.
func (c *SearchR1Client) post(ctx context.Context, body []byte) ([]byte, error) {
	if c.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, err // the caller gave up
		}
		return nil, &r1TransientError{err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.maxBody+1))
	if err != nil {
		return nil, &r1TransientError{fmt.Errorf("reading response (status %d): %w", resp.StatusCode, err)}
	}
	if int64(len(raw)) > c.cfg.maxBody {
		return nil, fmt.Errorf("response over %d bytes", c.cfg.maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("status %d: %s", resp.StatusCode, r1ErrorSnippet(raw))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, &r1TransientError{err}
		}
		return nil, err
	}
	return raw, nil
}

// errorSnippet is the server's error message, from sleuth's
// {"error":{"message"}}, OpenAI's and FastAPI's {"detail"} shapes, or the
// first 200 bytes of the body.
func r1ErrorSnippet(raw []byte) string {
	var e struct {
		Error  json.RawMessage `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &e) == nil {
		var m struct{ Message string }
		if json.Unmarshal(e.Error, &m) == nil && m.Message != "" {
			return m.Message
		}
		for _, r := range []json.RawMessage{e.Error, e.Detail} {
			if len(r) > 0 {
				return r1Truncate(string(r), 200)
			}
		}
	}
	return r1Truncate(string(raw), 200)
}

func r1Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// searchR1Doc is one document as Search-R1 servers send it: wiki-18 corpus
// rows carry id and contents; its BM25 server sends title, text and contents
// without an id.
type searchR1Doc struct {
	ID       json.RawMessage `json:"id"`
	Contents *string         `json:"contents"`
	Title    *string         `json:"title"`
	Text     *string         `json:"text"`
}

// searchR1Item is one hit: {"document":{...},"score":s} when scores were
// asked for, or the bare document from servers that ignore return_scores.
type searchR1Item struct {
	Document *searchR1Doc    `json:"document"`
	Score    json.RawMessage `json:"score"`
	searchR1Doc
}

// ParseSearchR1Response decodes a /retrieve response body holding nQueries
// lists, keeping at most k hits per list. Ranks are the positions in each
// list; hits without a score get 0.
func ParseSearchR1Response(raw []byte, nQueries, k int) ([][]Hit, error) {
	var resp struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	if resp.Result == nil {
		return nil, fmt.Errorf("response has no \"result\": %s", r1Truncate(string(raw), 200))
	}
	if len(resp.Result) != nQueries {
		return nil, fmt.Errorf("response has %d result lists for %d queries", len(resp.Result), nQueries)
	}
	out := make([][]Hit, nQueries)
	for qi, rawList := range resp.Result {
		var items []searchR1Item
		if err := json.Unmarshal(rawList, &items); err != nil {
			return nil, fmt.Errorf("result %d: %w", qi, err)
		}
		hits := make([]Hit, 0, min(k, len(items)))
		for i, it := range items[:min(k, len(items))] {
			h, err := it.hit()
			if err != nil {
				return nil, fmt.Errorf("result %d hit %d: %w", qi, i, err)
			}
			h.Rank = i
			hits = append(hits, h)
		}
		out[qi] = hits
	}
	return out, nil
}

func (it searchR1Item) hit() (Hit, error) {
	doc := it.searchR1Doc
	if it.Document != nil {
		doc = *it.Document
	}
	var h Hit
	id, err := r1Scalar(doc.ID)
	if err != nil {
		return h, fmt.Errorf("id: %w", err)
	}
	h.Passage.ID = id
	switch {
	case doc.Title != nil || doc.Text != nil:
		h.Passage.Title, h.Passage.Text = r1Deref(doc.Title), r1Deref(doc.Text)
	case doc.Contents != nil:
		h.Passage.Title, h.Passage.Text = corpus.SplitContents(*doc.Contents)
	default:
		return h, errors.New(`document has neither "contents" nor "title"/"text"`)
	}
	s, err := r1Scalar(it.Score)
	if err != nil {
		return h, fmt.Errorf("score: %w", err)
	}
	if s != "" {
		if h.Score, err = strconv.ParseFloat(s, 64); err != nil {
			return h, fmt.Errorf("score %q: not a number", s)
		}
	}
	return h, nil
}

// jsonScalar renders a JSON string or number as text; absent or null is "".
func r1Scalar(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("want a string or number, got %s", r1Truncate(string(raw), 40))
	}
	return n.String(), nil
}

func r1Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var _ Retriever = (*SearchR1Client)(nil)
