// Package retrieve serves a search.Retriever over HTTP with the request and
// response shapes of Search-R1's retrieval server (POST /retrieve), so
// Search-R1 and verl training scripts can point at sleuth unchanged. It also
// serves GET /healthz (JSON status with index information) and GET /metrics
// (Prometheus text format).
//
// A request is {"queries":[...],"topk":3,"return_scores":true}; topk is
// optional (Config.DefaultTopK) and return_scores defaults to false. A
// sleuth extension, "retriever": NAME, picks one of Config.Retrievers (BM25,
// dense or hybrid) for the request. The
// answer is one list per query, in query order, byte-for-byte as Search-R1's
// FastAPI server writes it for a wiki-18 style corpus:
//
//	{"result":[[{"document":{"id":"1","contents":"\"Title\"\nText"},"score":12.5},...],...]}
//	{"result":[[{"id":"1","contents":"\"Title\"\nText"},...],...]}   (return_scores false)
//
// Errors are JSON, always of the form
//
//	{"error":{"message":"...","type":"..."}}
//
// with type one of invalid_json, invalid_request (400), request_too_large
// (413: body over Config.MaxBodyBytes or more than Config.MaxQueries
// queries), method_not_allowed (405), not_found (404), retriever_error (500),
// internal_error (500, including recovered panics), timeout (504) and
// client_closed_request (499, seen only in metrics and logs). Search-R1's
// server answers bad input with FastAPI's 422 {"detail":[...]} instead; no
// Search-R1 client reads either body.
package retrieve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/httpguard"
)

const (
	pathRetrieve = "/retrieve"
	pathHealth   = "/healthz"
	pathMetrics  = "/metrics"
	pathOther    = "other"
)

// Config tunes a Server. Zero values take the documented defaults.
type Config struct {
	// DefaultTopK is the number of passages per query when a request has no
	// topk. Default 3, Search-R1's default.
	DefaultTopK int
	// MaxTopK bounds a request's topk. Default 100.
	MaxTopK int
	// MaxQueries bounds the queries in one request. Default 512.
	MaxQueries int
	// MaxBodyBytes bounds a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxQueryBytes and MaxQueryTerms bound each query (default 4096 bytes
	// and 256 terms, runs of letters and digits); a longer one gets a 400
	// that names the limit.
	MaxQueryBytes, MaxQueryTerms int
	// Guard is the HTTP frame (timeouts, connection cap, work queue, Host
	// checks, API key) used by ListenAndServe and Serve; /healthz and
	// /metrics skip its work queue.
	Guard httpguard.Config
	// Timeout bounds one retriever call. Default 60 s; negative means none
	// beyond the client's own disconnect.
	Timeout time.Duration
	// ShutdownTimeout bounds the graceful drain when ListenAndServe's context
	// ends. Default 10 s.
	ShutdownTimeout time.Duration
	// Index describes the index for /healthz.
	Index IndexInfo
	// Retrievers are alternatives a request may pick by name with
	// "retriever": NAME (for example "bm25", "dense", "hybrid"); a request
	// without one is answered by the retriever given to New. /healthz lists
	// the names. Must not be modified after New.
	Retrievers map[string]search.Retriever
	// Batch, when set, merges the queries of concurrent requests to the
	// default retriever into batched searches (search.Coalescer): the
	// agents of a trainer send one query per request. A request that
	// finds the queue full gets 503 with Retry-After. /metrics shows the
	// queue depth and batch sizes. Close stops its workers.
	Batch *search.CoalesceConfig
	// Logger receives request errors, recovered panics and lifecycle lines.
	// Default: discard.
	Logger *slog.Logger
}

// IndexInfo is what /healthz reports about the index behind the server.
type IndexInfo struct {
	Backend string `json:"backend,omitempty"` // e.g. "bm25"
	// Path is for the operator's logs; /healthz never shows it, since a
	// filesystem path tells a stranger about the machine.
	Path      string `json:"-"`
	Documents int64  `json:"documents,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DefaultTopK <= 0 {
		c.DefaultTopK = 3
	}
	if c.MaxTopK <= 0 {
		c.MaxTopK = 100
	}
	if c.DefaultTopK > c.MaxTopK {
		c.MaxTopK = c.DefaultTopK
	}
	if c.MaxQueries <= 0 {
		c.MaxQueries = 512
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxQueryBytes <= 0 {
		c.MaxQueryBytes = 4096
	}
	if c.MaxQueryTerms <= 0 {
		c.MaxQueryTerms = 256
	}
	if c.Guard.Unqueued == nil {
		c.Guard.Unqueued = []string{pathHealth, pathMetrics}
	}
	if c.Guard.Logger == nil {
		c.Guard.Logger = c.Logger
	}
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	return c
}

// Server is an http.Handler serving /retrieve, /healthz and /metrics. It is
// safe for concurrent use; its metrics belong to it alone.
type Server struct {
	r   search.Retriever
	cfg Config
	log *slog.Logger
	m   *metrics
}

// New returns a Server answering from r. Each /retrieve request becomes one
// r.Search call carrying all its queries and the request's context.
func New(r search.Retriever, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{r: r, cfg: cfg, log: cfg.Logger, m: newMetrics(time.Now())}
	if cfg.Batch != nil {
		s.m.batch = search.NewCoalescer(r, *cfg.Batch)
		s.r = s.m.batch
	}
	return s
}

// Close stops the micro-batcher's workers, if any, after the queued
// searches are answered.
func (s *Server) Close() {
	if s.m.batch != nil {
		s.m.batch.Close()
	}
}

// ListenAndServe listens on addr (host:port; port 0 picks a free one) and
// serves until ctx ends, then shuts down gracefully, letting requests in
// flight finish within Config.ShutdownTimeout. It logs the bound address.
//
// It refuses a non-loopback address unless Config.Guard has an API key or
// InsecureNoAuth (see httpguard.Listen).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := httpguard.Listen(ctx, addr, s.cfg.Guard)
	if err != nil {
		return fmt.Errorf("retrieval server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes. The
// handler is wrapped by httpguard.Handler with Config.Guard.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := httpguard.NewServer(httpguard.Handler(s, s.cfg.Guard), s.cfg.Guard)
	s.log.Info("retrieval server listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+pathRetrieve)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("retrieval server %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("retrieval server shutting down", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // drop the requests that did not finish in time
		return fmt.Errorf("retrieval server %s shutdown: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("retrieval server %s: %w", ln.Addr(), err)
	}
	return nil
}

// ServeHTTP routes by path, records metrics and turns panics into 500s.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := r.URL.Path
	switch path {
	case pathRetrieve, pathHealth, pathMetrics:
	default:
		path = pathOther
	}
	rec := &statusRecorder{ResponseWriter: w}
	if path == pathRetrieve {
		s.m.inFlight.Add(1)
		defer s.m.inFlight.Add(-1)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.m.panics.Add(1)
			s.log.Error("retrieval server: handler panic recovered", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if rec.wroteHeader {
				// Part of a response is out; abort the connection so the
				// client sees a failure, not a truncated body.
				s.m.observe(path, http.StatusInternalServerError, time.Since(start))
				panic(http.ErrAbortHandler)
			}
			writeError(rec, &apiError{Status: http.StatusInternalServerError, Type: errTypeInternal, Message: "internal server error"})
		}
		s.m.observe(path, rec.status(), time.Since(start))
	}()
	switch path {
	case pathRetrieve:
		if !allow(rec, r, http.MethodPost) {
			return
		}
		s.handleRetrieve(rec, r)
	case pathHealth:
		if !allow(rec, r, http.MethodGet, http.MethodHead) {
			return
		}
		s.handleHealth(rec)
	case pathMetrics:
		if !allow(rec, r, http.MethodGet, http.MethodHead) {
			return
		}
		rec.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := s.m.write(rec); err != nil {
			s.log.Debug("retrieval server: writing metrics", "err", err)
		}
	default:
		writeError(rec, &apiError{Status: http.StatusNotFound, Type: errTypeNotFound, Message: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
	}
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	allowed := methods[0]
	for _, m := range methods[1:] {
		allowed += ", " + m
	}
	w.Header().Set("Allow", allowed)
	writeError(w, &apiError{
		Status:  http.StatusMethodNotAllowed,
		Type:    errTypeMethodNotAllowed,
		Message: fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allowed),
	})
	return false
}

func (s *Server) handleRetrieve(w http.ResponseWriter, r *http.Request) {
	// MaxBytesReader needs net/http's own writer to close the connection
	// after a 413 rather than read on through the rest of a huge body.
	raw := w
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		raw = u.Unwrap()
	}
	body, err := io.ReadAll(http.MaxBytesReader(raw, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Type: errTypeTooLarge, Message: fmt.Sprintf("request body over %d bytes", s.cfg.MaxBodyBytes)})
			return
		}
		s.log.Debug("retrieval server: reading request body", "err", err)
		writeError(w, &apiError{Status: http.StatusBadRequest, Type: errTypeInvalidRequest, Message: "reading request body: " + err.Error()})
		return
	}
	req, aerr := decodeRequest(body, s.cfg.DefaultTopK, s.cfg.MaxTopK, s.cfg.MaxQueries)
	if aerr == nil {
		aerr = checkQueries(req.Queries, s.cfg.MaxQueryBytes, s.cfg.MaxQueryTerms)
	}
	if aerr != nil {
		s.log.Debug("retrieval server: bad request", "status", aerr.Status, "err", aerr.Message)
		writeError(w, aerr)
		return
	}
	ctx := r.Context()
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	retr := s.r
	if req.Retriever != "" {
		named, ok := s.cfg.Retrievers[req.Retriever]
		if !ok {
			writeError(w, badRequest(`unknown "retriever" %q; this server has %s`, req.Retriever, strings.Join(s.retrieverNames(), ", ")))
			return
		}
		retr = named
	}
	hits, err := retr.Search(ctx, req.Queries, req.TopK)
	if err == nil && len(hits) != len(req.Queries) {
		err = fmt.Errorf("retriever returned %d result lists for %d queries", len(hits), len(req.Queries))
	}
	if err != nil {
		s.retrieverFailed(w, r, len(req.Queries), err)
		return
	}
	out, err := appendResponse(make([]byte, 0, responseSize(hits, req.TopK)), hits, req.TopK, req.ReturnScores)
	if err != nil {
		s.log.Error("retrieval server: encoding response", "err", err)
		writeError(w, &apiError{Status: http.StatusInternalServerError, Type: errTypeInternal, Message: "encoding response: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(out)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(out); err != nil {
		s.log.Debug("retrieval server: writing response", "err", err)
	}
	s.m.queries.Add(int64(len(req.Queries)))
}

// retrieverFailed reports a Search error: 504 when the server's own timeout
// fired, 499 (nginx's "client closed request", for the metrics; nobody reads
// the body) when the client went away, else 500.
func (s *Server) retrieverFailed(w http.ResponseWriter, r *http.Request, n int, err error) {
	switch {
	case r.Context().Err() != nil:
		s.log.Debug("retrieval server: client went away", "queries", n, "err", err)
		writeError(w, &apiError{Status: 499, Type: errTypeCanceled, Message: "client closed request"})
	case errors.Is(err, search.ErrOverloaded):
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: errTypeOverloaded, Message: "search queue full: retry after a second"})
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("retrieval server: search timed out", "queries", n, "timeout", s.cfg.Timeout, "err", err)
		writeError(w, &apiError{Status: http.StatusGatewayTimeout, Type: errTypeTimeout, Message: fmt.Sprintf("search timed out after %s", s.cfg.Timeout)})
	default:
		s.log.Error("retrieval server: search failed", "queries", n, "err", err)
		writeError(w, &apiError{Status: http.StatusInternalServerError, Type: errTypeRetriever, Message: "search failed: " + err.Error()})
	}
}

// appendResponse writes {"result":[...]} in Search-R1's two shapes: with
// scores each hit is {"document":{"id","contents"},"score"}, without them it
// is the bare document. Lists longer than k are cut to k.
func appendResponse(b []byte, hits [][]search.Hit, k int, withScores bool) ([]byte, error) {
	b = append(b, `{"result":[`...)
	for qi, list := range hits {
		if qi > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for i, h := range list[:min(k, len(list))] {
			if i > 0 {
				b = append(b, ',')
			}
			if withScores {
				b = append(b, `{"document":`...)
			}
			b = append(b, `{"id":`...)
			b = appendPyString(b, h.Passage.ID)
			b = append(b, `,"contents":`...)
			b = appendPyString(b, h.Passage.Contents())
			b = append(b, '}')
			if withScores {
				var err error
				b = append(b, `,"score":`...)
				if b, err = appendPyFloat(b, h.Score); err != nil {
					return nil, fmt.Errorf("query %d hit %d (id %q): %w", qi, i, h.Passage.ID, err)
				}
				b = append(b, '}')
			}
		}
		b = append(b, ']')
	}
	return append(b, "]}"...), nil
}

// responseSize estimates the response length, so the buffer is sized once.
func responseSize(hits [][]search.Hit, k int) int {
	n := 16
	for _, l := range hits {
		for _, h := range l[:min(k, len(l))] {
			n += len(h.Passage.ID) + len(h.Passage.Title) + len(h.Passage.Text) + 72
		}
	}
	return n + n/16 // room for escapes
}

// retrieverNames lists the names a request may pick, sorted.
func (s *Server) retrieverNames() []string {
	names := make([]string, 0, len(s.cfg.Retrievers))
	for n := range s.cfg.Retrievers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type healthBody struct {
	Status        string    `json:"status"`
	Index         IndexInfo `json:"index"`
	Retrievers    []string  `json:"retrievers,omitempty"`
	DefaultTopK   int       `json:"default_topk"`
	MaxTopK       int       `json:"max_topk"`
	MaxQueries    int       `json:"max_queries"`
	InFlight      int64     `json:"in_flight"`
	UptimeSeconds float64   `json:"uptime_seconds"`
}

func (s *Server) handleHealth(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, healthBody{
		Status:        "ok",
		Index:         s.cfg.Index,
		Retrievers:    s.retrieverNames(),
		DefaultTopK:   s.cfg.DefaultTopK,
		MaxTopK:       s.cfg.MaxTopK,
		MaxQueries:    s.cfg.MaxQueries,
		InFlight:      s.m.inFlight.Load(),
		UptimeSeconds: time.Since(s.m.start).Seconds(),
	})
}

type errorBody struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	var body errorBody
	body.Error.Message, body.Error.Type = e.Message, e.Type
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs of strings and numbers reach here
		b = []byte(`{"error":{"message":"encoding response","type":"internal_error"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// statusRecorder remembers the status code written, for metrics and for
// knowing whether a recovered panic can still send a 500.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if !r.wroteHeader {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
