package gatewaytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// AReaL is a stand-in for AReaL's online-mode proxy gateway.
type AReaL struct {
	*httptest.Server
	AdminKey string
	backend  http.Handler

	mu       sync.Mutex
	n        int
	sessions map[string]*ArealSession // by api key
	calls    []string
}

// ArealSession is one session as the gateway saw it.
type ArealSession struct {
	TaskID, ID, Key string
	Interactions    int
	Rewards         []float64
	Ended           bool
}

// NewAReaL starts the stand-in; model calls go to backend's
// /v1/chat/completions.
func NewAReaL(adminKey string, backend http.Handler) *AReaL {
	g := &AReaL{AdminKey: adminKey, backend: backend, sessions: map[string]*ArealSession{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rl/start_session", g.start)
	mux.HandleFunc("POST /chat/completions", g.chat)
	mux.HandleFunc("POST /rl/set_reward", g.setReward)
	mux.HandleFunc("POST /rl/end_session", g.end)
	g.Server = httptest.NewServer(mux)
	return g
}

// Calls lists the calls taken, in order, as "start TASK", "chat SESSION",
// "reward SESSION VALUE" and "end SESSION".
func (g *AReaL) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

// Sessions returns every session by task id.
func (g *AReaL) Sessions() map[string]ArealSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]ArealSession{}
	for _, s := range g.sessions {
		out[s.TaskID] = *s
	}
	return out
}

func (g *AReaL) record(format string, args ...any) {
	g.calls = append(g.calls, fmt.Sprintf(format, args...))
}

// session returns the open session the request's key names.
func (g *AReaL) session(r *http.Request) *ArealSession {
	s := g.sessions[bearerKey(r)]
	if s == nil || s.Ended {
		return nil
	}
	return s
}

func (g *AReaL) start(w http.ResponseWriter, r *http.Request) {
	if bearerKey(r) != g.AdminKey {
		detail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	m, _, err := object(r, "task_id")
	var req struct {
		TaskID string  `json:"task_id"`
		APIKey *string `json:"api_key"`
	}
	if err == nil {
		err = json.Unmarshal(m["task_id"], &req.TaskID)
	}
	if err == nil && m["api_key"] != nil {
		err = json.Unmarshal(m["api_key"], &req.APIKey)
	}
	if err != nil {
		detail(w, http.StatusUnprocessableEntity, fmt.Sprintf("StartSessionRequest: %v", err))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if req.APIKey != nil {
		detail(w, http.StatusConflict, "refresh is not served by this stand-in")
		return
	}
	g.n++
	s := &ArealSession{TaskID: req.TaskID, ID: fmt.Sprintf("%s-%d", req.TaskID, g.n), Key: fmt.Sprintf("sk-sess-%06d", g.n)}
	g.sessions[s.Key] = s
	g.record("start %s", req.TaskID)
	reply(w, http.StatusOK, map[string]string{"session_id": s.ID, "api_key": s.Key})
}

func (g *AReaL) chat(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	s := g.session(r)
	g.mu.Unlock()
	if s == nil {
		detail(w, http.StatusUnauthorized, "unknown or ended session key")
		return
	}
	_, body, err := object(r, "messages")
	if err != nil {
		detail(w, http.StatusBadRequest, err.Error())
		return
	}
	if forward(g.backend, w, r, "/v1/chat/completions", body) == http.StatusOK {
		g.mu.Lock()
		s.Interactions++
		g.record("chat %s", s.ID)
		g.mu.Unlock()
	}
}

func (g *AReaL) setReward(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.session(r)
	if s == nil {
		detail(w, http.StatusUnauthorized, "unknown or ended session key")
		return
	}
	m, _, err := object(r, "reward")
	var v float64
	if err == nil {
		err = json.Unmarshal(m["reward"], &v)
	}
	if err == nil && m["interaction_id"] != nil && string(m["interaction_id"]) != "null" {
		err = fmt.Errorf("interaction_id %s is not one of this session's", m["interaction_id"])
	}
	if err != nil {
		detail(w, http.StatusUnprocessableEntity, fmt.Sprintf("SetRewardRequest: %v", err))
		return
	}
	if s.Interactions == 0 {
		detail(w, http.StatusBadRequest, "no interaction to reward in this session")
		return
	}
	s.Rewards = append(s.Rewards, v)
	g.record("reward %s %g", s.ID, v)
	reply(w, http.StatusOK, map[string]string{"message": "success"})
}

func (g *AReaL) end(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.session(r)
	if s == nil {
		detail(w, http.StatusUnauthorized, "unknown or ended session key")
		return
	}
	if _, _, err := object(r); err != nil {
		detail(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.Ended = true
	g.record("end %s", s.ID)
	reply(w, http.StatusOK, map[string]any{"message": "success", "interaction_count": s.Interactions})
}
