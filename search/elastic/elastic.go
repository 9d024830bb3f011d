// Package elastic puts an Elasticsearch or OpenSearch index behind
// search.Retriever and bulk-loads a corpus into one, with an analyzer and
// BM25 similarity matching sleuth's embedded index (see Settings).
//
// The official Go clients carry the requests: node URLs, authentication
// and retries of 429, 502, 503 and 504 with back-off. For Elasticsearch
// that is elastic-transport-go, the transport go-elasticsearch v8 is built
// on, used directly: go-elasticsearch's root package also links its typed
// API, 858 packages that took sleuth's build from 436 to 1,320 packages
// (a first build of minutes here, and a fuzzing build that did not finish
// in 15); its product check (a 2xx answer must carry X-Elastic-Product:
// Elasticsearch) is repeated here. For OpenSearch it is opensearch-go v4.
// The request and response bodies of the few APIs used (create index,
// _bulk, _search, _count, _refresh) are the same in both products, so one
// small codec here builds and reads them for both.
package elastic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/opensearch-project/opensearch-go/v4"
)

// Flavor is the product behind the URL.
type Flavor string

const (
	Elasticsearch Flavor = "elasticsearch"
	OpenSearch    Flavor = "opensearch"
)

// Config says where the index is and how to talk to it.
type Config struct {
	Flavor Flavor
	// URL is a node's base URL, such as http://localhost:9200; user:password@
	// in it is used for basic authentication.
	URL string
	// Index is the index name.
	Index string
	// APIKey, when set (Elasticsearch only), authenticates instead of a
	// user and password: the base64 "id:key" token.
	APIKey string
	// MaxRetries bounds the retries of a request answered 429, 502, 503 or
	// 504 (and of bulk items rejected with 429). 0 means 5; -1 none.
	MaxRetries int
	// Backoff is the wait before retry attempt (1, 2, …). nil means
	// 100ms·2^(attempt-1), at most 5s, with ±20% jitter.
	Backoff func(attempt int) time.Duration
	// Concurrency bounds the searches of one batch in flight; 0 means 8.
	Concurrency int
	// Transport replaces the HTTP transport (tests); nil means the client's.
	Transport http.RoundTripper
}

// ParseSpec reads an --index value naming a remote index:
// es:URL/INDEX (Elasticsearch) or os:URL/INDEX (OpenSearch); the long
// names elasticsearch: and opensearch: work too. ok is false
// when spec names neither; err is set when it does but is malformed.
func ParseSpec(spec string) (cfg Config, ok bool, err error) {
	prefix, rest, found := strings.Cut(spec, ":")
	switch {
	case !found:
		return cfg, false, nil
	case prefix == "es" || prefix == "elasticsearch":
		cfg.Flavor = Elasticsearch
	case prefix == "os" || prefix == "opensearch":
		cfg.Flavor = OpenSearch
	default:
		return cfg, false, nil
	}
	u, err := url.Parse(rest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, true, fmt.Errorf("index %q: want %s:http(s)://HOST:PORT/INDEX", spec, prefix)
	}
	path := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return cfg, true, fmt.Errorf("index %q: no index name after the URL (want %s:URL/INDEX)", spec, prefix)
	}
	cfg.Index = path[i+1:]
	u.Path = path[:i]
	cfg.URL = u.String()
	if err := checkIndexName(cfg.Index); err != nil {
		return cfg, true, fmt.Errorf("index %q: %w", spec, err)
	}
	return cfg, true, nil
}

// checkIndexName applies the index name rules both products share.
func checkIndexName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("no index name after the URL (want .../INDEX)")
	case len(name) > 255:
		return errors.New("index name longer than 255 bytes")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`) || strings.ToLower(name) != name || strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("index name %q: must be lowercase, without \\ / * ? \" < > | space , # :, not starting with - _ +", name)
	}
	return nil
}

// performer is what both official clients do: send a request (to the
// node the client picks, with authentication and retries) and return the
// response.
type performer interface {
	Perform(*http.Request) (*http.Response, error)
}

// retryStatuses are answered by waiting and trying again.
var retryStatuses = []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// maxResponse bounds a response body read into memory.
const maxResponse = 256 << 20

// client talks to one index.
type client struct {
	cfg     Config
	p       performer
	retries int
	backoff func(int) time.Duration
}

func newClient(cfg Config) (*client, error) {
	if err := checkIndexName(cfg.Index); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s URL %q: want http(s)://HOST:PORT", cfg.Flavor, cfg.URL)
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	c := &client{cfg: cfg, retries: cfg.MaxRetries, backoff: cfg.Backoff}
	switch {
	case c.retries == 0:
		c.retries = 5
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	switch cfg.Flavor {
	case Elasticsearch:
		tp, err := elastictransport.New(elastictransport.Config{URLs: []*url.URL{u}, Username: user, Password: pass,
			APIKey: cfg.APIKey, Transport: cfg.Transport, RetryOnStatus: retryStatuses, MaxRetries: c.retries,
			DisableRetry: c.retries == 0, RetryBackoff: c.backoff})
		if err != nil {
			return nil, fmt.Errorf("elasticsearch client: %w", err)
		}
		c.p = productCheck{tp}
	case OpenSearch:
		if cfg.APIKey != "" {
			return nil, errors.New("opensearch: API keys are an Elasticsearch feature; put user:password@ in the URL")
		}
		off := false
		osc, err := opensearch.NewClient(opensearch.Config{Addresses: []string{u.String()}, Username: user, Password: pass,
			Transport: cfg.Transport, RetryOnStatus: retryStatuses, MaxRetries: c.retries, DisableRetry: c.retries == 0,
			RetryBackoff: c.backoff, DiscoverNodesOnStart: &off, HealthCheckMaxRetries: -1})
		if err != nil {
			return nil, fmt.Errorf("opensearch client: %w", err)
		}
		c.p = osc
	default:
		return nil, fmt.Errorf("flavor %q: want %s or %s", cfg.Flavor, Elasticsearch, OpenSearch)
	}
	return c, nil
}

// productCheck refuses 2xx answers from a server that is not
// Elasticsearch, as go-elasticsearch does: Elasticsearch 7.14 and later
// send X-Elastic-Product: Elasticsearch with every answer.
type productCheck struct{ p performer }

func (pc productCheck) Perform(req *http.Request) (*http.Response, error) {
	res, err := pc.p.Perform(req)
	if err == nil && res.StatusCode >= 200 && res.StatusCode <= 299 && res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		res.Body.Close()
		return nil, errors.New("the server is not Elasticsearch (no X-Elastic-Product header in its answer); for OpenSearch use os:URL/INDEX")
	}
	return res, err
}

func defaultBackoff(attempt int) time.Duration {
	d := min(100*time.Millisecond<<min(attempt-1, 10), 5*time.Second)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// do sends one request and returns the body of a 2xx answer; any other
// answer becomes an *Error read from its body.
func (c *client) do(ctx context.Context, method, path string, body []byte, contentType string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	what := method + " " + path
	res, err := c.p.Perform(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.cfg.Flavor, what, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", c.cfg.Flavor, what, err)
	}
	if len(out) > maxResponse {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", c.cfg.Flavor, what, maxResponse)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := parseError(res.StatusCode, out)
		e.Op, e.Flavor = what, c.cfg.Flavor
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 502 && res.StatusCode <= 504 {
			e.Retries = c.retries
		}
		return nil, e
	}
	return out, nil
}
