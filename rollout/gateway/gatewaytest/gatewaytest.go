// Package gatewaytest holds loopback stand-ins for the RL gateways that
// rollout/gateway speaks, with their routes, auth and bodies as in the
// real projects' source (AReaL's areal/experimental/openai/proxy, Agent
// Lightning's agentlightning/server). Model calls go on to a Backend (any
// OpenAI-compatible handler serving /v1/...). Each records the calls it
// took in order and answers a malformed one as the real server would: 401
// without the right key, 422 for a body that does not fit the model, 404
// for an unknown route or rollout.
package gatewaytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func detail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"detail": msg})
}

// bearerKey returns the request's bearer token.
func bearerKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(strings.ToLower(a), "bearer ") {
		return a[7:]
	}
	return ""
}

// object reads the body as a JSON object, with each required key present.
func object(r *http.Request, required ...string) (map[string]json.RawMessage, []byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, nil, fmt.Errorf("body is not a JSON object")
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return nil, nil, fmt.Errorf("field %q is required", k)
		}
	}
	return m, b, nil
}

// forward sends a model call on to backend at path and copies its answer.
func forward(backend http.Handler, w http.ResponseWriter, r *http.Request, path string, body []byte) int {
	req := r.Clone(r.Context())
	req.URL.Path = path
	req.RequestURI = ""
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Del("Authorization")
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	backend.ServeHTTP(rec, req)
	return rec.status
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }
