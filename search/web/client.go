package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// Config configures a Client. The zero value of every field means its
// documented default.
type Config struct {
	// BaseURL is the provider's root URL, without the endpoint path.
	// Defaults: https://api.search.brave.com, https://google.serper.dev,
	// https://api.tavily.com; SearXNG has none and requires it.
	BaseURL string
	// APIKey defaults to $BRAVE_API_KEY, $SERPER_API_KEY or $TAVILY_API_KEY.
	// SearXNG needs none.
	APIKey string
	// HTTPClient sends the requests. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// QPS is the provider's request rate limit (a token bucket shared by
	// every query of this client). Default: DefaultQPS(provider); negative
	// means unlimited.
	QPS float64
	// Burst is how many requests may go at once after an idle spell. Default 1.
	Burst int
	// Concurrency is how many queries of one batch are in flight. Default 4.
	Concurrency int
	// Retry bounds retries of 429, 5xx and connection errors.
	Retry Retry
	// PricePer1000 is the price in dollars of 1000 successful requests.
	// Default 0: set it from your plan to see dollars in the ledger.
	PricePer1000 float64
	// Cache, when set, answers repeated queries without a request.
	Cache *Cache
	// Ledger, when set, is charged for every query this client answers, in
	// addition to the ledger in the call's context (see WithLedger).
	Ledger *Ledger
	// Logger gets a line per retry and per cache error. Default: discard.
	Logger *slog.Logger
	// MaxResponseBytes bounds a response body. Default 8 MiB.
	MaxResponseBytes int64
}

// DefaultQPS is the rate limit a provider gets when Config.QPS is 0: the
// free or entry plan's limit where one is published (Brave 1/s, Tavily's
// development keys 100/min), a polite 2/s for a SearXNG instance whose
// upstream engines throttle, and 5/s for Serper.
func DefaultQPS(provider string) float64 {
	switch provider {
	case Brave:
		return 1
	case Tavily:
		return 1.5
	case Serper:
		return 5
	default:
		return 2
	}
}

// Client is a search.Retriever over one web search provider. It is safe for
// concurrent use.
type Client struct {
	api     api
	base    string
	key     string
	hc      *http.Client
	limit   *bucket
	conc    int
	retry   Retry
	price   float64
	cache   *Cache
	ledger  *Ledger
	log     *slog.Logger
	maxBody int64
}

var _ search.Retriever = (*Client)(nil)

// New returns a client for provider (SearXNG, Brave, Serper or Tavily).
func New(provider string, cfg Config) (*Client, error) {
	a, err := apiFor(provider)
	if err != nil {
		return nil, err
	}
	c := &Client{api: a, base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.APIKey, hc: cfg.HTTPClient,
		conc: cfg.Concurrency, retry: cfg.Retry.withDefaults(), price: cfg.PricePer1000,
		cache: cfg.Cache, ledger: cfg.Ledger, log: cfg.Logger, maxBody: cfg.MaxResponseBytes}
	if c.base == "" {
		c.base = a.defaultURL
	}
	if c.base == "" {
		return nil, fmt.Errorf("%s: a base URL is required (the instance's root, e.g. http://127.0.0.1:8888)", provider)
	}
	if !strings.HasPrefix(c.base, "http://") && !strings.HasPrefix(c.base, "https://") {
		return nil, fmt.Errorf("%s: base URL %q is not http(s)", provider, c.base)
	}
	if c.key == "" && a.keyEnv != "" {
		c.key = os.Getenv(a.keyEnv)
		if c.key == "" {
			return nil, fmt.Errorf("%s: no API key: set %s or Config.APIKey", provider, a.keyEnv)
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	qps := cfg.QPS
	if qps == 0 {
		qps = DefaultQPS(provider)
	}
	c.limit = newBucket(qps, cfg.Burst)
	if c.conc <= 0 {
		c.conc = 4
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxBody <= 0 {
		c.maxBody = 8 << 20
	}
	return c, nil
}

// Name returns the provider's name, e.g. "brave".
func (c *Client) Name() string { return c.api.name }

// Search answers each query with at most k hits. Identical queries in one
// batch are sent once. The first query to fail cancels the rest and its
// error is returned.
func (c *Client) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	if k <= 0 {
		for i := range out {
			out[i] = []search.Hit{}
		}
		return out, ctx.Err()
	}
	first := map[string]int{} // query → index of its first occurrence
	var uniq []int
	for i, q := range queries {
		if _, ok := first[q]; !ok {
			first[q] = i
			uniq = append(uniq, i)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ls := ledgers{c.ledger, LedgerFrom(ctx)}
	sem := make(chan struct{}, c.conc)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for _, i := range uniq {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			hits, err := c.searchOne(ctx, ls, queries[i], k)
			if err != nil {
				errOnce.Do(func() { firstErr = err; cancel() })
				return
			}
			out[i] = hits
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, q := range queries {
		if j := first[q]; j != i {
			out[i] = cloneHits(out[j])
		}
	}
	return out, nil
}

func (c *Client) searchOne(ctx context.Context, ls ledgers, query string, k int) ([]search.Hit, error) {
	if strings.TrimSpace(query) == "" {
		return []search.Hit{}, nil // every provider rejects an empty query
	}
	if c.cache != nil {
		res, ok, err := c.cache.Get(ctx, c.api.name, query, k)
		if err != nil {
			c.log.Warn("web search cache read failed", "provider", c.api.name, "err", err)
		} else if ok {
			ls.each((*Ledger).cacheHit)
			return c.hits(res, k), nil
		}
	}
	res, err := c.fetch(ctx, ls, query, k)
	if err != nil {
		ls.each((*Ledger).failed)
		return nil, err
	}
	if c.cache != nil {
		if err := c.cache.Put(ctx, c.api.name, query, k, res); err != nil {
			c.log.Warn("web search cache write failed", "provider", c.api.name, "err", err)
		}
	}
	return c.hits(res, k), nil
}

// fetch asks the provider, retrying temporary failures within c.retry.
func (c *Client) fetch(ctx context.Context, ls ledgers, query string, k int) ([]Result, error) {
	kReq := k
	if c.api.maxK > 0 && kReq > c.api.maxK {
		kReq = c.api.maxK
	}
	var last error
	attempt := 0
	for attempt < c.retry.MaxAttempts {
		if attempt > 0 {
			d := c.retry.backoff(attempt)
			var se *StatusError
			if errors.As(last, &se) && se.RetryAfter > 0 {
				d = se.RetryAfter
			}
			c.log.Info("web search retry", "provider", c.api.name, "query", query,
				"attempt", attempt+1, "sleep", d, "err", last)
			if err := sleep(ctx, d); err != nil {
				return nil, fmt.Errorf("%s: query %q: %w (after %d attempts, last: %v)", c.api.name, query, err, attempt, last)
			}
		}
		if err := c.limit.wait(ctx); err != nil {
			return nil, fmt.Errorf("%s: query %q: waiting for the rate limit: %w", c.api.name, query, err)
		}
		res, err := c.attempt(ctx, ls, query, kReq, attempt > 0)
		attempt++
		if err == nil {
			ls.each(func(l *Ledger) { l.answered(c.price / 1000) })
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: query %q: %w", c.api.name, query, ctx.Err())
		}
		last = err
		var se *StatusError
		if errors.As(err, &se) {
			if !se.Temporary() {
				return nil, fmt.Errorf("%s: query %q: %w", c.api.name, query, err)
			}
			if se.RetryAfter > c.retry.MaxRetryAfter {
				return nil, fmt.Errorf("%s: query %q: asked to retry after %s, more than the %s allowed: %w",
					c.api.name, query, se.RetryAfter, c.retry.MaxRetryAfter, err)
			}
		} else if errors.Is(err, errPermanent) {
			return nil, fmt.Errorf("%s: query %q: %w", c.api.name, query, err)
		}
	}
	return nil, fmt.Errorf("%s: query %q: giving up after %d attempts: %w", c.api.name, query, attempt, last)
}

// errPermanent marks failures that a retry cannot fix (a bad body).
var errPermanent = errors.New("permanent")

type permanentError struct{ err error }

func (e permanentError) Error() string        { return e.err.Error() }
func (e permanentError) Is(target error) bool { return target == errPermanent }
func (e permanentError) Unwrap() error        { return e.err }

// attempt sends one request and parses a 2xx answer.
func (c *Client) attempt(ctx context.Context, ls ledgers, query string, k int, retry bool) ([]Result, error) {
	req, err := c.api.request(ctx, c.base, c.key, query, k)
	if err != nil {
		return nil, permanentError{fmt.Errorf("building request: %w", err)}
	}
	req.Header.Set("User-Agent", "sleuth/1 (+https://github.com/sleuth-research/sleuth)")
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		ls.each(func(l *Ledger) { l.request(time.Since(start), retry) })
		return nil, fmt.Errorf("connection: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	ls.each(func(l *Ledger) { l.request(time.Since(start), retry) })
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Provider: c.api.name, StatusCode: resp.StatusCode,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Body:       strings.TrimSpace(snippet(body, 200))}
	}
	if int64(len(body)) > c.maxBody {
		return nil, permanentError{fmt.Errorf("response larger than %d bytes", c.maxBody)}
	}
	res, err := c.api.parse(body)
	if err != nil {
		return nil, permanentError{err}
	}
	return res, nil
}

// hits turns results into at most k hits: no empty or repeated URLs,
// reciprocal-rank scores.
func (c *Client) hits(res []Result, k int) []search.Hit {
	out := make([]search.Hit, 0, min(k, len(res)))
	seen := make(map[string]bool, len(res))
	for _, r := range res {
		if len(out) == k {
			break
		}
		u := strings.TrimSpace(r.URL)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		meta := map[string]string{"url": u, "provider": c.api.name}
		if r.HasScore {
			meta["provider_score"] = strconv.FormatFloat(r.Score, 'g', -1, 64)
		}
		rank := len(out)
		out = append(out, search.Hit{
			Passage: corpus.Passage{ID: u, Title: r.Title, Text: r.Snippet, Meta: meta},
			Score:   1 / float64(rank+1),
			Rank:    rank,
		})
	}
	return out
}

func cloneHits(hs []search.Hit) []search.Hit {
	out := make([]search.Hit, len(hs))
	for i, h := range hs {
		out[i] = h
		if h.Passage.Meta != nil {
			m := make(map[string]string, len(h.Passage.Meta))
			for k, v := range h.Passage.Meta {
				m[k] = v
			}
			out[i].Passage.Meta = m
		}
	}
	return out
}
