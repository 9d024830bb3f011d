// Package agentapi serves research agents as models over the OpenAI chat
// API, so that any OpenAI client or chat UI can call an agent by name:
// POST /v1/chat/completions with "model": "sleuth-searchr1" runs one
// episode of the searchr1 preset on the last user message and answers with
// the episode's answer and its sources. GET /v1/models lists the agents.
//
// Streaming (stream: true) sends the episode as it runs: every
// chat.completion.chunk carries one event record of agent's versioned
// format (agent/events.schema.json) in the extension field "sleuth", which
// plain clients ignore, and a one-line account of it in
// delta.reasoning_content, which chat UIs show as the model's thinking;
// the answer with its sources comes as delta.content at the end.
//
// A request may set its own budget in the extension field "sleuth"
// (max_turns, max_tool_calls, max_tokens, max_seconds); the server caps
// every field (Config.Limits). Errors use OpenAI's body
// {"error":{"message","type","param","code"}}.
package agentapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
)

// System is one agent served as a model: a preset with its policy and
// tools. Its fields are read, never modified: each request runs on a
// runner of its own built from them.
type System struct {
	// Model is the id clients send as "model"; ModelID(Preset.Name) by
	// convention.
	Model    string
	Preset   agent.Preset
	Policy   llm.Client
	Tools    map[string]agent.Tool
	Clients  map[string]llm.Client // roles' own models (agent.Runner.Clients)
	Screener guard.Screener        // nil: the guard package's rules
}

// Run runs one episode of question under budget b on a runner of its
// own, reporting its events to onEvent (nil: none; see
// agent.WithEvents), and returns it with what it rests on (see Citation;
// cited says the answer cites them rather than having read them). Safe
// for concurrent use.
func (s *System) Run(ctx context.Context, id, question string, b agent.Budget, seed *int64, onEvent func(agent.Event)) (ep *agent.Episode, cites []Citation, cited bool) {
	p := s.Preset
	p.Budget = b
	var src sources
	tools := make(map[string]agent.Tool, len(s.Tools))
	for name, t := range s.Tools {
		tools[name] = agent.Tap(t, src.noteHits)
	}
	r := &agent.Runner{Preset: p, Policy: s.Policy, Tools: tools, Clients: s.Clients, Screener: s.Screener}
	ep = r.Run(ctx, agent.Question{ID: id, Text: question}, 0, agent.SeedFrom(seed), agent.WithEvents(onEvent))
	cites, cited = citations(ep, &src)
	return ep, cites, cited
}

// ModelID is the model id under which preset name is served:
// "sleuth-" + name.
func ModelID(preset string) string { return "sleuth-" + preset }

// Limits cap the budget a request may ask for. A zero field caps at the
// preset's own budget, so by default a request can lower its budget but
// not raise it.
type Limits struct {
	MaxTurns     int
	MaxTokens    int // generated tokens over the episode
	MaxToolCalls int // searches and pages read over the episode
	MaxWall      time.Duration
}

// Config tunes a Server. Zero fields take the defaults noted.
type Config struct {
	Limits Limits
	// MaxConcurrent bounds the episodes running at once (default 64);
	// MaxQueued bounds the requests waiting for one of those places
	// (default 1024). Requests beyond both are answered 429 at once.
	MaxConcurrent int
	MaxQueued     int
	MaxBodyBytes  int64 // request body limit (default 1 MiB)
	MaxQuestion   int   // bytes of the question (default 8 KiB)
	// WriteTimeout bounds each write of a streamed event: a client that
	// stops reading loses its episode instead of holding it (default 30 s).
	WriteTimeout time.Duration
	// APIKey, when set, is required as "Authorization: Bearer KEY".
	APIKey string
	Logger *slog.Logger // default slog.Default()
}

func (c Config) withDefaults() Config {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 64
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 1024
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxQuestion <= 0 {
		c.MaxQuestion = 8 << 10
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server is an http.Handler serving agents. It is safe for concurrent use.
type Server struct {
	cfg     Config
	systems map[string]*System
	models  []string
	mux     *http.ServeMux
	created int64
	admit   chan struct{} // a place per request admitted (running or queued)
	run     chan struct{} // a place per episode running
}

// New serves systems under cfg. Model ids must be unique and non-empty.
func New(systems []System, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, systems: map[string]*System{}, mux: http.NewServeMux(), created: time.Now().Unix(),
		admit: make(chan struct{}, cfg.MaxConcurrent+cfg.MaxQueued), run: make(chan struct{}, cfg.MaxConcurrent)}
	for i := range systems {
		sys := &systems[i]
		switch {
		case sys.Model == "":
			return nil, fmt.Errorf("agentapi: system %d (preset %s) has no model id", i, sys.Preset.Name)
		case s.systems[sys.Model] != nil:
			return nil, fmt.Errorf("agentapi: model id %q served twice", sys.Model)
		case sys.Policy == nil:
			return nil, fmt.Errorf("agentapi: model %s has no policy", sys.Model)
		}
		s.systems[sys.Model] = sys
		s.models = append(s.models, sys.Model)
	}
	if len(s.models) == 0 {
		return nil, fmt.Errorf("agentapi: no systems to serve")
	}
	slices.Sort(s.models)
	s.mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /v1/events.schema.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		_, _ = w.Write(agent.EventsSchema)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "models": s.models})
	})
	return s, nil
}

// ServeHTTP checks the API key, routes, answers unknown routes with JSON
// errors and turns a handler panic into a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.cfg.Logger.Error("agentapi handler panic", "path", r.URL.Path, "panic", v)
			writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "internal error"})
		}
	}()
	if s.cfg.APIKey != "" && r.URL.Path != "/healthz" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.APIKey)) != 1 {
			writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Message: "missing or wrong API key", Code: strPtr("invalid_api_key")})
			return
		}
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		status, msg := http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
		for _, p := range []string{"/v1/chat/completions", "/v1/models", "/v1/events.schema.json", "/healthz"} {
			if r.URL.Path == p {
				status, msg = http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, p)
			}
		}
		writeError(w, &apiError{Status: status, Type: "invalid_request_error", Message: msg})
		return
	}
	h.ServeHTTP(w, r)
}

type modelCard struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Created     int64  `json:"created"`
	OwnedBy     string `json:"owned_by"`
	Description string `json:"description,omitempty"`
}

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	cards := make([]modelCard, 0, len(s.models))
	for _, m := range s.models {
		cards = append(cards, modelCard{ID: m, Object: "model", Created: s.created, OwnedBy: "sleuth", Description: strings.TrimSpace(s.systems[m].Preset.Description)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": cards})
}

// apiError is OpenAI's error body: {"error":{"message","type","param","code"}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

func badRequest(param, format string, args ...any) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
	if param != "" {
		e.Param = strPtr(param)
	}
	return e
}

func strPtr(s string) *string { return &s }

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
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
