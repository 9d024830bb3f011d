// Package openai serves any llm.Client over the OpenAI-compatible HTTP API
// (POST /v1/completions, POST /v1/chat/completions, GET /v1/models), so that
// everything that talks to vLLM or Ollama can talk to sleuth's own engine,
// and so that sleuth's HTTP client is tested against a real server.
//
// Errors use OpenAI's body {"error":{"message","type","param","code"}} with
// 4xx for bad requests; a failing request never takes the server down.
package openai

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/httpguard"
)

// Config tunes a Server. Zero fields take the defaults noted.
type Config struct {
	Model            string        // model id served and listed (default "sleuth")
	DefaultMaxTokens int           // when a request omits max_tokens (default 16, as OpenAI's completions)
	MaxTokens        int           // largest max_tokens accepted (default 4096)
	MaxN             int           // largest n accepted (default 64)
	MaxPrompts       int           // largest number of prompts in one completions request (default 64)
	MaxSeqs          int           // largest prompts times n in one request (default 256): each is a KV cache
	MaxBodyBytes     int64         // request body limit (default 8 MiB)
	Timeout          time.Duration // per-request generation limit (default 5 minutes)
	Logger           *slog.Logger  // default slog.Default()
	// Guard is the HTTP frame (timeouts, connection cap, work queue, Host
	// checks, API key) used by ListenAndServe and Serve; /healthz and
	// /v1/models skip its work queue. Its WriteStall bounds each write of
	// a stream.
	Guard httpguard.Config
}

func (c Config) withDefaults() Config {
	if c.Model == "" {
		c.Model = "sleuth"
	}
	if c.DefaultMaxTokens <= 0 {
		c.DefaultMaxTokens = 16
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = 4096
	}
	if c.MaxN <= 0 {
		c.MaxN = 64
	}
	if c.MaxPrompts <= 0 {
		c.MaxPrompts = 64
	}
	if c.MaxSeqs <= 0 {
		c.MaxSeqs = 256
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 8 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Guard.Unqueued == nil {
		c.Guard.Unqueued = []string{"/healthz", "/v1/models"}
	}
	if c.Guard.Logger == nil {
		c.Guard.Logger = c.Logger
	}
	c.Guard = c.Guard.Defaults()
	return c
}

// Server is an http.Handler for the OpenAI-compatible API. It is safe for
// concurrent use.
type Server struct {
	client  llm.Client
	cfg     Config
	mux     *http.ServeMux
	created int64
}

// New serves client under cfg.
func New(client llm.Client, cfg Config) *Server {
	s := &Server{client: client, cfg: cfg.withDefaults(), mux: http.NewServeMux(), created: time.Now().Unix()}
	s.mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	s.mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	return s
}

// ServeHTTP routes a request, answering unknown paths and methods with JSON
// errors and turning a handler panic into a 500 instead of a dead connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error("openai handler panic", "path", r.URL.Path, "panic", v)
			writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "internal error"})
		}
	}()
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		status, msg := http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
		for _, p := range []string{"/v1/completions", "/v1/chat/completions", "/v1/models", "/healthz"} {
			if r.URL.Path == p {
				status, msg = http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, p)
			}
		}
		writeError(w, &apiError{Status: status, Type: "invalid_request_error", Message: msg})
		return
	}
	h.ServeHTTP(w, r)
}

// ListenAndServe serves on addr until ctx is cancelled, then shuts down
// gracefully. It logs the bound address (useful with port 0). It refuses
// a non-loopback address unless Config.Guard has an API key or
// InsecureNoAuth (see httpguard.Listen).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := httpguard.Listen(ctx, addr, s.cfg.Guard)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes; the
// server is wrapped by httpguard.Handler with Config.Guard.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.cfg.Logger.Info("serving OpenAI-compatible API", "addr", ln.Addr().String(), "model", s.cfg.Model)
	return httpguard.Serve(ctx, ln, s, s.cfg.Guard)
}

// busyReporter is the optional capability of a backend that can say how
// long its engine has been on one call (llm/local.Client).
type busyReporter interface{ BusyFor() time.Duration }

// handleHealth answers 200, or 503 when the backend's engine has been on
// one call for longer than any request may take: it is wedged, and a load
// balancer should stop sending work here.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if b, ok := s.client.(busyReporter); ok {
		if d := b.BusyFor(); d > s.cfg.Timeout+time.Minute {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "wedged", "model": s.cfg.Model, "busy_for": d.Round(time.Second).String()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "model": s.cfg.Model})
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelCard{{ID: s.cfg.Model, Object: "model", Created: s.created, OwnedBy: "sleuth"}}})
}

// decode reads a JSON body under the size limit into v.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Message: fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes)}
		}
		return badRequest("", "invalid JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "invalid JSON body: trailing data after the request object")
	}
	return nil
}

// toRequest validates the shared sampling fields into an llm.Request.
func (s *Server) toRequest(sp sampling, maxTokens *int) (llm.Request, *apiError) {
	req := llm.Request{Model: sp.Model, MaxTokens: s.cfg.DefaultMaxTokens, Temperature: 1, TopP: 1, N: 1, Seed: sp.Seed, Stop: sp.Stop}
	if sp.Model != "" && sp.Model != s.cfg.Model {
		return req, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Message: fmt.Sprintf("the model %q does not exist; this server serves %q", sp.Model, s.cfg.Model), Param: strPtr("model"), Code: strPtr("model_not_found")}
	}
	if maxTokens != nil {
		if *maxTokens < 1 || *maxTokens > s.cfg.MaxTokens {
			return req, badRequest("max_tokens", "max_tokens must be between 1 and %d, got %d", s.cfg.MaxTokens, *maxTokens)
		}
		req.MaxTokens = *maxTokens
	}
	if t := sp.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			return req, badRequest("temperature", "temperature must be between 0 and 2, got %g", *t)
		}
		req.Temperature = *t
	}
	if p := sp.TopP; p != nil {
		if *p <= 0 || *p > 1 {
			return req, badRequest("top_p", "top_p must be in (0, 1], got %g", *p)
		}
		req.TopP = *p
	}
	if k := sp.TopK; k != nil {
		if *k < -1 {
			return req, badRequest("top_k", "top_k must be -1 (off), 0 (off) or positive, got %d", *k)
		}
		req.TopK = max(*k, 0)
	}
	if n := sp.N; n != nil {
		if *n < 1 || *n > min(s.cfg.MaxN, s.cfg.MaxSeqs) {
			return req, badRequest("n", "n must be between 1 and %d, got %d", min(s.cfg.MaxN, s.cfg.MaxSeqs), *n)
		}
		req.N = *n
	}
	if len(sp.Stop) > 16 {
		return req, badRequest("stop", "at most 16 stop sequences, got %d", len(sp.Stop))
	}
	for _, st := range sp.Stop {
		if st == "" {
			return req, badRequest("stop", "stop sequences must not be empty")
		}
	}
	return req, nil
}

func (s *Server) generate(ctx context.Context, req llm.Request, emit func(choice int, tok llm.Token) error) (llm.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if st, ok := s.client.(llm.Streamer); ok && emit != nil {
		return st.GenerateStream(ctx, req, emit)
	}
	return s.client.Generate(ctx, req)
}

// generationError maps a backend error to an API error: a bad prompt the
// backend rejected is the caller's fault; anything else is ours.
func generationError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var inv *llm.InvalidRequestError
	if errors.As(err, &inv) {
		return badRequest("", "%s", inv.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusGatewayTimeout, Type: "timeout", Message: "generation timed out"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

func badRequest(param, format string, args ...any) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
	if param != "" {
		e.Param = strPtr(param)
	}
	return e
}

func strPtr(s string) *string { return &s }

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, map[string]*apiError{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func finish(reason string) *string {
	if reason == "" {
		reason = "stop"
	}
	return &reason
}
