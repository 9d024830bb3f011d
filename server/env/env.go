// Package env is the environment server for outside trainers (verl,
// SkyRL, custom loops): episode sessions over HTTP for any steppable
// preset. A trainer's rollout engine generates the policy's turns; the
// server runs the tool calls the trainer parsed from them with the
// episode's own state (passages already seen and their numbering,
// budgets, the cost ledger) and scores the finished episode with the
// preset's reward, every component included.
//
//	POST   /env/sessions            {"preset","question","gold":{"answers":[…]},"id"?} → {"session","prompt","tools",…}
//	POST   /env/sessions/{id}/call  {"tool","input"} or {"tool","arguments":{…}} → {"observations":[…],"text","ledger"}
//	POST   /env/sessions/{id}/score {"solution"} | {"turns"} | {"answer"} → the reward, then the session ends
//	GET    /env/sessions/{id}       the session's ledger and age
//	DELETE /env/sessions/{id}       end it without scoring
//	POST   /env/score               {"preset","gold","solution"|…} scores without a session
//	GET    /env/healthz, /env/metrics
//
// Sessions live in this process's memory: replicas behind a load balancer
// need sticky routing by session id (the id is in every session URL);
// /env/score is stateless and goes anywhere.
package env

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/server/httpguard"
)

// System is one preset as the server runs it: a runner holding the
// preset and its tools (its Policy is unused), and the preset's reward.
type System struct {
	Runner *agent.Runner
	Reward reward.Func
}

// Opener builds the System for a preset name; the returned func releases
// what it opened. cmd/sleuth injects one that builds tools as its other
// commands do, so a tool registry can later replace it without touching
// this package. It is called once per preset, on first use.
type Opener func(preset string) (System, func(), error)

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	Open Opener // required
	// Presets, when set, are the only presets sessions may use.
	Presets []string
	// MaxSessions bounds open sessions; a create beyond it gets 503 with
	// Retry-After once expired sessions are swept. Default 10,000.
	MaxSessions int
	// TTL is how long a session lives after its last request. Default 15 min.
	TTL time.Duration
	// MaxBody bounds request bodies. Default 4 MiB (a solution transcript).
	MaxBody int64
	Logger  *slog.Logger
	now     func() time.Time // tests
}

func (c Config) withDefaults() Config {
	if c.MaxSessions <= 0 {
		c.MaxSessions = 10_000
	}
	if c.TTL <= 0 {
		c.TTL = 15 * time.Minute
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 4 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Server serves environment sessions. It is safe for concurrent use;
// calls within one session are serialised.
type Server struct {
	cfg Config
	mux *http.ServeMux

	sysMu   sync.Mutex
	systems map[string]*openSystem

	mu       sync.Mutex
	sessions map[string]*session
	creates  int // since the last sweep

	m counters
}

type openSystem struct {
	once  sync.Once
	sys   System
	close func()
	err   error
}

// session is one open episode. mu serialises its calls; last is read by
// the sweeper without it.
type session struct {
	mu      sync.Mutex
	id      string
	preset  string
	sys     *System
	gold    reward.Gold
	ses     *agent.Session
	started time.Time
	last    atomic.Int64 // unix nanoseconds of the last request
	done    bool         // scored or released: later requests get 404
}

type counters struct {
	created, reused, expired, refused, released, calls, callErrors, scored atomic.Int64
}

// New returns a Server; Close releases the systems it opened.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg.withDefaults(), systems: map[string]*openSystem{}, sessions: map[string]*session{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /env/sessions", s.handleCreate)
	mux.HandleFunc("GET /env/sessions/{id}", s.handleGet)
	mux.HandleFunc("POST /env/sessions/{id}/call", s.handleCall)
	mux.HandleFunc("POST /env/sessions/{id}/score", s.handleScore)
	mux.HandleFunc("DELETE /env/sessions/{id}", s.handleDelete)
	mux.HandleFunc("POST /env/score", s.handleScoreStateless)
	mux.HandleFunc("GET /env/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /env/metrics", s.handleMetrics)
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		httpguard.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux = mux
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close releases every opened system. Sessions still open fail after it.
func (s *Server) Close() {
	s.sysMu.Lock()
	defer s.sysMu.Unlock()
	for _, o := range s.systems {
		if o.close != nil {
			o.close()
		}
	}
	s.systems = map[string]*openSystem{}
}

// system opens a preset once; concurrent first uses wait for one open.
func (s *Server) system(name string) (*System, error) {
	if len(s.cfg.Presets) > 0 && !contains(s.cfg.Presets, name) {
		return nil, fmt.Errorf("preset %q is not served here (served: %s)", name, strings.Join(s.cfg.Presets, ", "))
	}
	s.sysMu.Lock()
	o := s.systems[name]
	if o == nil {
		o = &openSystem{}
		s.systems[name] = o
	}
	s.sysMu.Unlock()
	o.once.Do(func() { o.sys, o.close, o.err = s.cfg.Open(name) })
	if o.err != nil {
		return nil, o.err
	}
	return &o.sys, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// apiError is a failure with its HTTP status.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(err error) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_request_error", err.Error()}
}

func fail(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{http.StatusInternalServerError, "internal_error", err.Error()}
	}
	if ae.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	httpguard.WriteError(w, ae.status, ae.typ, ae.msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpguard.WriteError(w, http.StatusInternalServerError, "internal_error", "encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// body reads a request body up to the configured cap.
func (s *Server) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &apiError{http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBody)}
	}
	if err != nil {
		return nil, badRequest(fmt.Errorf("reading request body: %w", err))
	}
	return b, nil
}

// CreateResponse answers a create.
type CreateResponse struct {
	Session string `json:"session"`
	Preset  string `json:"preset"`
	Prompt  string `json:"prompt"`
	// Tools are the names the policy may call (the preset's aliases
	// included), sorted.
	Tools   []string `json:"tools"`
	Created bool     `json:"created"` // false: the id named an open session
	TTL     float64  `json:"ttl_s"`
}

// request reads and parses a request body; false when it failed and the
// error was answered.
func request[T any](s *Server, w http.ResponseWriter, r *http.Request, parse func([]byte) (T, error)) (T, bool) {
	var zero T
	b, err := s.body(w, r)
	if err != nil {
		fail(w, err)
		return zero, false
	}
	req, err := parse(b)
	if err != nil {
		fail(w, badRequest(err))
		return zero, false
	}
	return req, true
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	req, ok := request(s, w, r, ParseCreate)
	if !ok {
		return
	}
	resp, err := s.create(r.Context(), req)
	if err != nil {
		fail(w, err)
		return
	}
	status := http.StatusCreated
	if !resp.Created {
		status = http.StatusOK
	}
	writeJSON(w, status, resp)
}

func (s *Server) create(ctx context.Context, req CreateRequest) (CreateResponse, error) {
	if req.ID != "" {
		if se := s.lookup(req.ID); se != nil {
			if se.preset != req.Preset {
				return CreateResponse{}, &apiError{http.StatusConflict, "conflict", fmt.Sprintf("session %s is open with preset %s", req.ID, se.preset)}
			}
			s.m.reused.Add(1)
			return s.describe(se, false), nil
		}
	}
	sys, err := s.system(req.Preset)
	if err != nil {
		return CreateResponse{}, badRequest(err)
	}
	qid := req.QuestionID
	if qid == "" {
		qid = req.ID
	}
	// The rag presets search here, before the session holds a slot: a
	// create that fails leaves nothing behind.
	ses, err := sys.Runner.NewSession(ctx, agent.Question{ID: qid, Text: req.Question})
	if errors.Is(err, agent.ErrNotSteppable) {
		return CreateResponse{}, badRequest(err)
	}
	if err != nil {
		return CreateResponse{}, fmt.Errorf("opening session: %w", err)
	}
	now := s.cfg.now()
	se := &session{id: req.ID, preset: req.Preset, sys: sys, gold: req.Gold, ses: ses, started: now}
	se.last.Store(now.UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if se.id == "" {
		se.id = newID()
	} else if old := s.sessions[se.id]; old != nil && !s.expiredLocked(old, now) {
		// Two creates with one id raced: the first one in wins.
		s.m.reused.Add(1)
		return s.describe(old, false), nil
	}
	s.creates++
	if len(s.sessions) >= s.cfg.MaxSessions || s.creates >= 1024 {
		s.sweepLocked(now)
	}
	if len(s.sessions) >= s.cfg.MaxSessions {
		s.m.refused.Add(1)
		return CreateResponse{}, &apiError{http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("%d sessions are open, the most this server holds: score or delete finished ones, or retry later", len(s.sessions))}
	}
	s.sessions[se.id] = se
	s.m.created.Add(1)
	return s.describe(se, true), nil
}

func (s *Server) describe(se *session, created bool) CreateResponse {
	return CreateResponse{Session: se.id, Preset: se.preset, Prompt: se.ses.Prompt(), Tools: toolNames(se.sys.Runner),
		Created: created, TTL: s.cfg.TTL.Seconds()}
}

// toolNames lists the names a policy may call in r's preset.
func toolNames(r *agent.Runner) []string {
	var out []string
	for name := range r.Tools {
		out = append(out, name)
	}
	for alias, target := range r.Preset.ToolNames {
		if _, ok := r.Tools[target]; ok && !contains(out, alias) {
			out = append(out, alias)
		}
	}
	sort.Strings(out)
	return out
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (s *Server) expiredLocked(se *session, now time.Time) bool {
	return now.UnixNano()-se.last.Load() > int64(s.cfg.TTL)
}

// sweepLocked drops expired sessions. It runs when the table is full and
// every 1,024 creates, so expired sessions never hold more than that many
// slots' worth of memory beyond the live ones.
func (s *Server) sweepLocked(now time.Time) {
	s.creates = 0
	for id, se := range s.sessions {
		if s.expiredLocked(se, now) {
			delete(s.sessions, id)
			s.m.expired.Add(1)
		}
	}
}

// lookup returns the open session id names, touching it, or nil.
func (s *Server) lookup(id string) *session {
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[id]
	if se == nil {
		return nil
	}
	if s.expiredLocked(se, now) {
		delete(s.sessions, id)
		s.m.expired.Add(1)
		return nil
	}
	se.last.Store(now.UnixNano())
	return se
}

// remove ends a session.
func (s *Server) remove(se *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[se.id] == se {
		delete(s.sessions, se.id)
	}
}

// locked finds the session a request names and locks it; the caller
// unlocks. A session ended while the request waited is not found.
func (s *Server) locked(r *http.Request) (*session, error) {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return nil, badRequest(err)
	}
	se := s.lookup(id)
	if se == nil {
		return nil, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("no open session %s (never created, ended, or idle longer than %s)", id, s.cfg.TTL)}
	}
	se.mu.Lock()
	if se.done {
		se.mu.Unlock()
		return nil, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("session %s has ended", id)}
	}
	return se, nil
}

// CallResponse answers a tool call.
type CallResponse struct {
	// Observations holds each call's text (one per input), escaped and
	// guarded as the policy sees it; Text is them joined, ready for a
	// tool message. The preset's observation template is not applied:
	// trainers that write the protocol's tags themselves add it.
	Observations []string     `json:"observations"`
	Text         string       `json:"text"`
	Ledger       agent.Ledger `json:"ledger"`
}

func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	req, ok := request(s, w, r, ParseCall)
	if !ok {
		return
	}
	se, err := s.locked(r)
	if err != nil {
		fail(w, err)
		return
	}
	defer se.mu.Unlock()
	s.m.calls.Add(1)
	var texts []string
	if req.Arguments != nil {
		texts, err = se.ses.CallJSON(r.Context(), req.Tool, req.Arguments)
	} else {
		texts, err = se.ses.Call(r.Context(), []agent.Call{{Tool: req.Tool, Input: req.Input, Args: req.Args}})
	}
	if err != nil {
		s.m.callErrors.Add(1)
		fail(w, callError(err))
		return
	}
	writeJSON(w, http.StatusOK, CallResponse{Observations: texts, Text: strings.Join(texts, ""), Ledger: se.ses.Ledger()})
}

// callError classifies a failed call: a spent budget is 409 (the episode
// goes on and may still answer), a tool the preset lacks or a bad input
// 400, a tool that failed 502.
func callError(err error) error {
	switch {
	case errors.Is(err, agent.ErrBudget):
		return &apiError{http.StatusConflict, "budget_exhausted", err.Error()}
	case errors.Is(err, agent.ErrBadCall):
		return badRequest(err)
	default:
		return &apiError{http.StatusBadGateway, "tool_error", err.Error()}
	}
}

// ScoreResponse is an episode's reward with every component, and what
// the episode was taken to be.
type ScoreResponse struct {
	reward.Score
	Answer       string       `json:"answer"`
	Status       agent.Status `json:"status"`
	Reason       string       `json:"reason,omitempty"`
	FormatErrors int          `json:"format_errors"`
	Turns        int          `json:"turns"`
	Ledger       agent.Ledger `json:"ledger"`
}

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	b, err := s.body(w, r)
	if err != nil {
		fail(w, err)
		return
	}
	req, err := ParseScore(b, false)
	if err != nil {
		fail(w, badRequest(err))
		return
	}
	se, err := s.locked(r)
	if err != nil {
		fail(w, err)
		return
	}
	defer se.mu.Unlock()
	se.done = true // Finish is once per session, even if scoring fails
	s.remove(se)
	resp, err := score(r.Context(), se.sys, se.ses, se.gold, req)
	if err != nil {
		fail(w, err)
		return
	}
	s.m.scored.Add(1)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleScoreStateless(w http.ResponseWriter, r *http.Request) {
	b, err := s.body(w, r)
	if err != nil {
		fail(w, err)
		return
	}
	req, err := ParseScore(b, true)
	if err != nil {
		fail(w, badRequest(err))
		return
	}
	sys, err := s.system(req.Preset)
	if err != nil {
		fail(w, badRequest(err))
		return
	}
	resp, err := score(r.Context(), sys, nil, *req.Gold, req)
	if err != nil {
		fail(w, err)
		return
	}
	s.m.scored.Add(1)
	writeJSON(w, http.StatusOK, resp)
}

// score finishes ses (or, without one, a session with no tool calls) on
// the request's turns and scores it with the system's reward.
func score(ctx context.Context, sys *System, ses *agent.Session, gold reward.Gold, req ScoreRequest) (ScoreResponse, error) {
	p := sys.Runner.Preset
	var turns []string
	switch {
	case req.Solution != nil:
		turns = agent.SplitTurns(p, *req.Solution)
	case req.Answer != nil:
		turns = []string{"<" + p.Tags.Answer + ">" + *req.Answer + "</" + p.Tags.Answer + ">"}
	default:
		turns = req.Turns
	}
	if ses == nil {
		q := req.Question
		if q == "" {
			q = gold.Question
		}
		ses = sys.Runner.BareSession(agent.Question{Text: q})
	}
	ep := ses.Finish(turns)
	if gold.Question == "" {
		gold.Question = ep.Question
	}
	sc, err := sys.Reward.Score(ctx, ep, gold)
	if err != nil {
		return ScoreResponse{}, &apiError{http.StatusBadGateway, "reward_error", "scoring: " + err.Error()}
	}
	return ScoreResponse{Score: sc, Answer: ep.Answer, Status: ep.Status, Reason: ep.Reason, FormatErrors: ep.FormatErrors,
		Turns: len(ep.Turns), Ledger: ep.Ledger}, nil
}

// SessionInfo answers GET /env/sessions/{id}.
type SessionInfo struct {
	Session string       `json:"session"`
	Preset  string       `json:"preset"`
	Age     float64      `json:"age_s"`
	Ledger  agent.Ledger `json:"ledger"`
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	se, err := s.locked(r)
	if err != nil {
		fail(w, err)
		return
	}
	defer se.mu.Unlock()
	writeJSON(w, http.StatusOK, SessionInfo{Session: se.id, Preset: se.preset, Age: s.cfg.now().Sub(se.started).Seconds(), Ledger: se.ses.Ledger()})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	se, err := s.locked(r)
	if err != nil {
		fail(w, err)
		return
	}
	defer se.mu.Unlock()
	se.done = true
	s.remove(se)
	s.m.released.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// Open is the number of sessions held (expired ones not yet swept
// included).
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for _, c := range []struct {
		name, help string
		v          int64
	}{
		{"sleuth_env_sessions_open", "sessions held now", int64(s.Open())},
		{"sleuth_env_sessions_created_total", "sessions created", s.m.created.Load()},
		{"sleuth_env_sessions_reused_total", "creates that named an open session", s.m.reused.Load()},
		{"sleuth_env_sessions_expired_total", "sessions dropped after their TTL", s.m.expired.Load()},
		{"sleuth_env_sessions_refused_total", "creates refused because the table was full", s.m.refused.Load()},
		{"sleuth_env_sessions_released_total", "sessions deleted without scoring", s.m.released.Load()},
		{"sleuth_env_tool_calls_total", "tool call requests", s.m.calls.Load()},
		{"sleuth_env_tool_call_errors_total", "tool call requests that failed", s.m.callErrors.Load()},
		{"sleuth_env_scored_total", "episodes scored", s.m.scored.Load()},
	} {
		typ := "counter"
		if !strings.HasSuffix(c.name, "_total") {
			typ = "gauge"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", c.name, c.help, c.name, typ, c.name, c.v)
	}
}
