// Package densetest is a loopback double of an OpenAI-compatible
// /v1/embeddings server for tests: it speaks the wire format (request and
// response bodies as OpenAI's API writes them) and embeds by hashing words,
// so texts sharing words have similar vectors and retrieval over it is
// meaningful, if crude.
package densetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// HashEmbed embeds text as a dim-dimensional unit vector: each lowercase
// alphanumeric word adds ±1 at a position its hash picks.
func HashEmbed(text string, dim int) []float32 {
	v := make([]float32, dim)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		h := fnv.New64a()
		h.Write([]byte(w))
		x := h.Sum64()
		sign := float32(1)
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(dim)] += sign
	}
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s > 0 {
		inv := float32(1 / math.Sqrt(s))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

// Server is an http.Handler answering POST /v1/embeddings (and
// /embeddings). Set its fields before serving.
type Server struct {
	Dim int
	// Model is echoed in responses. Default "densetest-hash".
	Model string
	// Fail answers the first Fail requests with FailStatus (default 503)
	// and Retry-After: 0.
	Fail       int
	FailStatus int
	// Delay holds every request this long (to observe concurrency).
	Delay time.Duration
	// MaxBatch rejects requests with more inputs with a 400, as a server
	// with a batch limit does. 0 means no limit.
	MaxBatch int

	mu       sync.Mutex
	requests []Request
	inFlight atomic.Int64
	peak     atomic.Int64
	failed   atomic.Int64
}

// Request is what the server received.
type Request struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions"`
}

// Requests returns the requests answered or refused so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// PeakInFlight is the most requests seen in flight at once.
func (s *Server) PeakInFlight() int { return int(s.peak.Load()) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.URL.Path != "/v1/embeddings" && r.URL.Path != "/embeddings") {
		writeError(w, http.StatusNotFound, "invalid_request_error", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	if s.failed.Add(1) <= int64(s.Fail) {
		st := s.FailStatus
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", "0")
		writeError(w, st, "server_error", "The server is overloaded or not ready yet.")
		return
	}
	if len(req.Input) == 0 || (s.MaxBatch > 0 && len(req.Input) > s.MaxBatch) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("'$.input' is invalid: %d inputs", len(req.Input)))
		return
	}
	model := s.Model
	if model == "" {
		model = "densetest-hash"
	}
	vecs := make([][]float32, len(req.Input))
	tokens := 0
	for i, t := range req.Input {
		vecs[i] = HashEmbed(t, s.Dim)
		tokens += len(strings.Fields(t))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(Response(vecs, model, tokens))
}

// Response renders vectors as OpenAI's API writes an embeddings response:
// two-space indentation, keys in its order, one number a line.
func Response(vecs [][]float32, model string, tokens int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"object\": \"list\",\n  \"data\": [\n")
	for i, v := range vecs {
		b.WriteString("    {\n      \"object\": \"embedding\",\n      \"embedding\": [\n")
		for j, x := range v {
			b.WriteString("        ")
			b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
			if j < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "      ],\n      \"index\": %d\n    }", i)
		if i < len(vecs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	m, _ := json.Marshal(model)
	fmt.Fprintf(&b, "  ],\n  \"model\": %s,\n  \"usage\": {\n    \"prompt_tokens\": %d,\n    \"total_tokens\": %d\n  }\n}\n", m, tokens, tokens)
	return b.Bytes()
}

// writeError answers as OpenAI's API does: {"error":{"message","type","param","code"}}.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	m, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\n  \"error\": {\n    \"message\": %s,\n    \"type\": \"%s\",\n    \"param\": null,\n    \"code\": null\n  }\n}\n", m, typ)
}

// Clustered returns n unit vectors of dimension dim drawn around clusters
// random centres (a standard Gaussian centre plus Gaussian noise of
// standard deviation 0.6 per dimension, so points of a cluster have cosine
// about 0.7), deterministic in seed: a stand-in for real embeddings, which
// also bunch by topic.
func Clustered(n, dim, clusters int, seed uint64) [][]float32 {
	out := make([][]float32, 0, n)
	for v := range ClusteredSeq(n, dim, clusters, seed) {
		out = append(out, v)
	}
	return out
}

// ClusteredSeq yields Clustered's vectors one at a time, each a fresh
// slice, without holding them all.
func ClusteredSeq(n, dim, clusters int, seed uint64) iter.Seq[[]float32] {
	return func(yield func([]float32) bool) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		centres := make([][]float32, clusters)
		for c := range centres {
			centres[c] = make([]float32, dim)
			for j := range centres[c] {
				centres[c][j] = float32(r.NormFloat64())
			}
		}
		for range n {
			c := centres[r.IntN(clusters)]
			v := make([]float32, dim)
			var s float64
			for j := range v {
				v[j] = c[j] + float32(0.6*r.NormFloat64())
				s += float64(v[j]) * float64(v[j])
			}
			inv := float32(1 / math.Sqrt(s))
			for j := range v {
				v[j] *= inv
			}
			if !yield(v) {
				return
			}
		}
	}
}
