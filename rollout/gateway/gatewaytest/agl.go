package gatewaytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// AGL is a stand-in for an Agent Lightning v1 server: its LLM proxy
// (server/routes/proxy.py) and event ingestion (server/routes/events.py).
type AGL struct {
	*httptest.Server
	Key     string
	backend http.Handler

	mu       sync.Mutex
	paused   int // model calls still to refuse as paused
	rollouts map[string]bool
	calls    []string
	events   map[string][]AGLEvent
}

// AGLEvent is an event as stored.
type AGLEvent struct {
	Type string         `json:"event_type"`
	Data map[string]any `json:"data"`
}

// NewAGL starts the stand-in with server key key; model calls go to
// backend's /v1/completions and /v1/chat/completions.
func NewAGL(key string, backend http.Handler) *AGL {
	g := &AGL{Key: key, backend: backend, rollouts: map[string]bool{}, events: map[string][]AGLEvent{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /proxy/rollout/{rid}/attempt/{aid}/mode/{mode}/openai/v1/{path...}", g.proxy)
	mux.HandleFunc("POST /api/rollouts/{rid}/attempt/{aid}/events", g.event)
	g.Server = httptest.NewServer(g.auth(mux))
	return g
}

// AddRollout makes a rollout known and returns the environment its
// controller would give the rollout's process (attempt "0", train mode).
func (g *AGL) AddRollout(id string) map[string]string {
	g.mu.Lock()
	g.rollouts[id] = true
	g.mu.Unlock()
	return map[string]string{
		"AGL_OPENAI_BASE_URL": fmt.Sprintf("%s/proxy/rollout/%s/attempt/0/mode/train/openai/v1", g.URL, id),
		"AGL_EVENT_URL":       fmt.Sprintf("%s/api/rollouts/%s/attempt/0/events", g.URL, id),
		"AGL_KEY":             g.Key,
	}
}

// Calls lists the calls taken in order: "model ROLLOUT PATH" and
// "event ROLLOUT TYPE".
func (g *AGL) Calls() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

// Events returns rollout id's events.
func (g *AGL) Events(id string) []AGLEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]AGLEvent(nil), g.events[id]...)
}

// auth checks the server key as app.py's verify_key does: a bearer token
// or x-api-key.
func (g *AGL) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Key != "" && bearerKey(r) != g.Key && r.Header.Get("x-api-key") != g.Key {
			detail(w, http.StatusUnauthorized, "Invalid or missing API key")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Pause answers the next n model calls as a paused gateway does while
// the trainer syncs weights (server/proxy.py forward_request): 429 with
// Retry-After and X-Agl-Paused. The stand-in asks for no wait (Retry-After:
// 0; the real default is 5 seconds) to keep tests fast.
func (g *AGL) Pause(n int) {
	g.mu.Lock()
	g.paused = n
	g.mu.Unlock()
}

func (g *AGL) known(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rollouts[id]
}

func (g *AGL) proxy(w http.ResponseWriter, r *http.Request) {
	rid, mode, path := r.PathValue("rid"), r.PathValue("mode"), r.PathValue("path")
	switch {
	case mode != "train" && mode != "val":
		detail(w, http.StatusNotFound, "Unsupported proxy mode: "+mode)
		return
	case path != "chat/completions" && path != "completions":
		detail(w, http.StatusNotFound, "Unsupported upstream path: "+path)
		return
	case !g.known(rid):
		detail(w, http.StatusNotFound, "Rollout not found: "+rid)
		return
	}
	_, body, err := object(r)
	if err != nil {
		detail(w, http.StatusBadRequest, "Request body must be a JSON object")
		return
	}
	g.mu.Lock()
	paused := g.paused > 0
	if paused {
		g.paused--
		g.calls = append(g.calls, fmt.Sprintf("paused %s %s", rid, path))
	}
	g.mu.Unlock()
	if paused {
		w.Header().Set("Retry-After", "0")
		w.Header().Set("X-Agl-Paused", "true")
		reply(w, http.StatusTooManyRequests, map[string]any{"error": "gateway paused", "reason": "weight sync"})
		return
	}
	if forward(g.backend, w, r, "/v1/"+path, body) == http.StatusOK {
		g.mu.Lock()
		g.calls = append(g.calls, fmt.Sprintf("model %s %s", rid, path))
		g.mu.Unlock()
	}
}

func (g *AGL) event(w http.ResponseWriter, r *http.Request) {
	rid := r.PathValue("rid")
	if !g.known(rid) {
		detail(w, http.StatusNotFound, "Rollout not found: "+rid)
		return
	}
	m, _, err := object(r, "event_type")
	var e AGLEvent
	if err == nil {
		err = json.Unmarshal(m["event_type"], &e.Type)
	}
	if err == nil && m["data"] != nil {
		err = json.Unmarshal(m["data"], &e.Data)
		if err == nil && e.Data == nil {
			err = fmt.Errorf("data is not an object")
		}
	}
	if err == nil && e.Type == "reward" {
		// The store keeps any data; the stand-in also holds a reward to
		// RewardData (a numeric "value"), which trainers read.
		if _, ok := e.Data["value"].(float64); !ok {
			err = fmt.Errorf("a reward event needs a numeric data.value")
		}
	}
	if err != nil {
		detail(w, http.StatusUnprocessableEntity, fmt.Sprintf("EventCreate: %v", err))
		return
	}
	g.mu.Lock()
	g.events[rid] = append(g.events[rid], e)
	g.calls = append(g.calls, fmt.Sprintf("event %s %s", rid, e.Type))
	g.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"event_type": e.Type, "rollout_id": rid, "attempt_id": r.PathValue("aid"), "timestamp": 0, "data": e.Data})
}
