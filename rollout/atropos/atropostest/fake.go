// Package atropostest is a loopback stand-in for Atropos's API server
// (atroposlib/api/server.py) that speaks its routes and models and checks
// what a trainer relies on beyond them: every field's shape, lengths that
// agree, masks that are -100 or the token itself, logprobs that are 1.0
// where masked and real logprobs elsewhere. It answers a bad body with 422
// and {"detail": ...}, as FastAPI does.
package atropostest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/sleuth-research/sleuth/rollout/atropos"
)

// Config shapes the fake trainer.
type Config struct {
	BatchSize   int // GET /info's batch_size (default 8)
	MaxTokenLen int // GET /info's max_token_len (default 8192)
	NumSteps    int // the trainer's steps (default 1000)
	// Unstarted answers this many /register-env calls with "wait for
	// trainer to start" before accepting, as the real API does until the
	// trainer's first GET /batch.
	Unstarted int
	// Check, when set, vets every posted group after the shape checks
	// (for a test to hold the tokens against what its policy generated).
	Check func(atropos.ScoredData) error
}

// Server is a running fake API server.
type Server struct {
	*httptest.Server
	cfg Config

	mu        sync.Mutex
	waits     int
	envs      []atropos.Registration
	connected []bool
	posted    []atropos.ScoredData
	rejected  []string
	statusN   int
}

// New starts a fake API server on loopback; Close stops it.
func New(cfg Config) *Server {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 8
	}
	if cfg.MaxTokenLen == 0 {
		cfg.MaxTokenLen = 8192
	}
	if cfg.NumSteps == 0 {
		cfg.NumSteps = 1000
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register-env", s.registerEnv)
	mux.HandleFunc("GET /info", s.info)
	mux.HandleFunc("GET /status-env", s.statusEnv)
	mux.HandleFunc("POST /scored_data", s.scoredData)
	mux.HandleFunc("POST /disconnect-env", s.disconnect)
	s.Server = httptest.NewServer(mux)
	return s
}

// Posted returns the groups accepted so far.
func (s *Server) Posted() []atropos.ScoredData {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]atropos.ScoredData(nil), s.posted...)
}

// Rejected returns why each refused body was refused.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// Registered returns the environments registered and whether each is
// still connected.
func (s *Server) Registered() ([]atropos.Registration, []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]atropos.Registration(nil), s.envs...), append([]bool(nil), s.connected...)
}

func (s *Server) refuse(w http.ResponseWriter, status int, msg string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, msg)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"detail": msg})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// decode reads r's body into v strictly: unknown fields are allowed (as
// pydantic ignores them) but each required key must be present and every
// value must have its declared type.
func decode(r *http.Request, v any, required ...string) error {
	var raw map[string]json.RawMessage
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 64<<20)); err != nil {
		return err
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		return fmt.Errorf("body is not a JSON object: %v", err)
	}
	for _, k := range required {
		if v, ok := raw[k]; !ok || string(v) == "null" {
			return fmt.Errorf("field %q is required", k)
		}
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("body does not fit the model: %v", err)
	}
	return nil
}

func (s *Server) registerEnv(w http.ResponseWriter, r *http.Request) {
	var reg atropos.Registration
	if err := decode(r, &reg, "max_token_length", "desired_name", "weight", "group_size"); err != nil {
		s.refuse(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if reg.GroupSize < 1 || reg.MaxTokenLength < 1 {
		s.refuse(w, http.StatusUnprocessableEntity, "group_size and max_token_length must be positive")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waits < s.cfg.Unstarted {
		s.waits++
		reply(w, map[string]string{"status": "wait for trainer to start"})
		return
	}
	id := len(s.envs)
	s.envs = append(s.envs, reg)
	s.connected = append(s.connected, true)
	reply(w, atropos.Registered{Status: "success", EnvID: id, WandbName: fmt.Sprintf("%s_%d", reg.DesiredName, id),
		StartingStep: 0, CheckpointInterval: -1, NumSteps: s.cfg.NumSteps})
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	reply(w, atropos.Info{BatchSize: s.cfg.BatchSize, MaxTokenLen: s.cfg.MaxTokenLen})
}

// envID reads {"env_id": N} and checks N is a connected environment.
func (s *Server) envID(r *http.Request) (int, error) {
	var e struct {
		EnvID *int `json:"env_id"`
	}
	if err := decode(r, &e, "env_id"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if *e.EnvID < 0 || *e.EnvID >= len(s.envs) {
		return 0, fmt.Errorf("env_id %d is not registered", *e.EnvID)
	}
	return *e.EnvID, nil
}

func (s *Server) statusEnv(w http.ResponseWriter, r *http.Request) {
	id, err := s.envID(r)
	if err != nil {
		s.refuse(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statusN++
	queued := 0
	for _, d := range s.posted {
		queued += len(d.Tokens)
	}
	g := s.envs[id].GroupSize
	// The trainer takes a batch whenever one is queued, so the queue the
	// environment sees stays under a batch and the step advances.
	step := queued / s.cfg.BatchSize
	reply(w, atropos.Status{CurrentStep: step, QueueSize: (queued % s.cfg.BatchSize) / g, UnallocatedFraction: 1,
		SelfQueueSize: (queued % s.cfg.BatchSize) / g, MaxGroupSize: g, EnvWeight: 1})
}

func (s *Server) disconnect(w http.ResponseWriter, r *http.Request) {
	id, err := s.envID(r)
	if err != nil {
		s.refuse(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.mu.Lock()
	s.connected[id] = false
	s.mu.Unlock()
	reply(w, map[string]string{"status": "success"})
}

func (s *Server) scoredData(w http.ResponseWriter, r *http.Request) {
	var d atropos.ScoredData
	if err := decode(r, &d, "tokens", "masks", "scores"); err != nil {
		s.refuse(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err := s.valid(d); err != nil {
		s.refuse(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if s.cfg.Check != nil {
		if err := s.cfg.Check(d); err != nil {
			s.refuse(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	}
	s.mu.Lock()
	s.posted = append(s.posted, d)
	s.mu.Unlock()
	reply(w, map[string]string{"status": "received"})
}

// valid checks a group as a trainer reads it.
func (s *Server) valid(d atropos.ScoredData) error {
	n := len(d.Tokens)
	if n == 0 {
		return errors.New("tokens is empty")
	}
	if len(d.Masks) != n || len(d.Scores) != n {
		return fmt.Errorf("tokens has %d sequences, masks %d, scores %d", n, len(d.Masks), len(d.Scores))
	}
	if d.EnvID == nil {
		return errors.New("env_id is missing: the API could not tell whose group this is")
	}
	s.mu.Lock()
	if *d.EnvID < 0 || *d.EnvID >= len(s.envs) || !s.connected[*d.EnvID] {
		s.mu.Unlock()
		return fmt.Errorf("env_id %d is not a connected environment", *d.EnvID)
	}
	g := s.envs[*d.EnvID].GroupSize
	s.mu.Unlock()
	if n != g {
		return fmt.Errorf("group of %d sequences, the environment registered group_size %d", n, g)
	}
	if d.InferenceLogprobs != nil && len(d.InferenceLogprobs) != n {
		return fmt.Errorf("inference_logprobs has %d sequences, tokens %d", len(d.InferenceLogprobs), n)
	}
	for i, toks := range d.Tokens {
		if len(toks) == 0 || len(d.Masks[i]) != len(toks) {
			return fmt.Errorf("sequence %d: %d tokens, %d masks", i, len(toks), len(d.Masks[i]))
		}
		trained := 0
		for j, m := range d.Masks[i] {
			switch {
			case toks[j] < 0:
				return fmt.Errorf("sequence %d: token %d is %d", i, j, toks[j])
			case m == atropos.Masked:
			case m == toks[j]:
				trained++
			default:
				return fmt.Errorf("sequence %d: mask %d is %d, neither -100 nor its token %d", i, j, m, toks[j])
			}
		}
		if trained == 0 {
			return fmt.Errorf("sequence %d: every position is masked", i)
		}
		if d.InferenceLogprobs == nil {
			continue
		}
		lp := d.InferenceLogprobs[i]
		if len(lp) != len(toks) {
			return fmt.Errorf("sequence %d: %d tokens, %d inference logprobs", i, len(toks), len(lp))
		}
		for j, v := range lp {
			masked := d.Masks[i][j] == atropos.Masked
			if masked && v != atropos.MaskedLogprob || !masked && v > 0 {
				return fmt.Errorf("sequence %d: logprob %d is %g at a %s position", i, j, v, map[bool]string{true: "masked", false: "trained"}[masked])
			}
		}
	}
	return nil
}
