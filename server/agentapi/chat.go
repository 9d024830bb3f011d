package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/agent"
)

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usageOf(ep *agent.Episode) *usage {
	l := ep.Ledger
	return &usage{PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, TotalTokens: l.PromptTokens + l.CompletionTokens}
}

type chatMessage struct {
	Role             string  `json:"role,omitempty"`
	Content          *string `json:"content,omitempty"`
	ReasoningContent string  `json:"reasoning_content,omitempty"` // DeepSeek's field for thinking, shown by chat UIs
}

type choice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message,omitempty"`
	Delta        *chatMessage `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
}

// Outcome is the extension field "sleuth" of a non-streamed response:
// the episode without its context, and the budget it ran under.
type Outcome struct {
	V       int              `json:"v"` // agent.EventsVersion
	Episode agent.Summary    `json:"episode"`
	Budget  agent.BudgetJSON `json:"budget"`
	Cited   bool             `json:"cited"` // the citations are the passages the answer cites, not all those read
}

type completion struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	Created   int64      `json:"created"`
	Model     string     `json:"model"`
	Choices   []choice   `json:"choices"`
	Usage     *usage     `json:"usage,omitempty"`
	Citations []Citation `json:"citations,omitempty"`
	// Sleuth is an *Outcome in a completion and an *agent.EventRecord in a
	// streamed chunk.
	Sleuth any `json:"sleuth,omitempty"`
}

// exchange is one request in progress.
type exchange struct {
	id, model string
	created   int64
	sys       *System
	question  string
	budget    agent.Budget
	seed      *int64
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Message: fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes)})
			return
		}
		writeError(w, badRequest("", "reading the body: %v", err))
		return
	}
	req, q, aerr := parseChat(body, s.cfg.MaxQuestion)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	sys := s.systems[req.Model]
	if sys == nil && req.Model == "" && len(s.models) == 1 {
		sys = s.systems[s.models[0]]
	}
	if sys == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: strPtr("model"), Code: strPtr("model_not_found"),
			Message: fmt.Sprintf("the model %q does not exist; this server serves %s", req.Model, strings.Join(s.models, ", "))})
		return
	}
	b, aerr := budget(sys.Preset.Budget, s.cfg.Limits, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	select {
	case s.admit <- struct{}{}:
		defer func() { <-s.admit }()
	default:
		writeError(w, &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Message: "too many research requests in flight; retry later"})
		return
	}
	select {
	case s.run <- struct{}{}:
		defer func() { <-s.run }()
	case <-r.Context().Done():
		return
	}
	x := &exchange{id: newID("chatcmpl-"), model: sys.Model, created: time.Now().Unix(), sys: sys, question: q, budget: b, seed: req.Seed}
	if req.Stream {
		s.stream(w, r, x, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	s.complete(w, r, x)
}

func (x *exchange) run(ctx context.Context, onEvent func(agent.Event)) (*agent.Episode, []Citation, bool) {
	return x.sys.Run(ctx, x.id, x.question, x.budget, x.seed, onEvent)
}

// failure is the API error for an episode that ended without an outcome
// to show, or nil.
func failure(ep *agent.Episode) *apiError {
	switch ep.Status {
	case agent.Failed:
		return &apiError{Status: http.StatusBadGateway, Type: "server_error", Message: "the episode failed: " + ep.Reason}
	case agent.Cancelled:
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: "the episode was cancelled: " + ep.Reason}
	}
	return nil
}

func finishReason(ep *agent.Episode) *string {
	r := "stop"
	if ep.Status == agent.OverBudget {
		r = "length"
	}
	return &r
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, x *exchange) {
	ep, cites, cited := x.run(r.Context(), nil)
	if r.Context().Err() != nil {
		return // the client is gone
	}
	if e := failure(ep); e != nil {
		s.cfg.Logger.Warn("agent episode failed", "id", x.id, "model", x.model, "status", ep.Status, "reason", ep.Reason)
		writeError(w, e)
		return
	}
	text := AnswerText(ep, cites, cited)
	writeJSON(w, http.StatusOK, completion{ID: x.id, Object: "chat.completion", Created: x.created, Model: x.model,
		Choices:   []choice{{Message: &chatMessage{Role: "assistant", Content: &text}, FinishReason: finishReason(ep)}},
		Usage:     usageOf(ep),
		Citations: cites,
		Sleuth:    &Outcome{V: agent.EventsVersion, Episode: ep.Summarize(), Budget: x.budget.JSON(), Cited: cited}})
}

// sse writes server-sent events, each under a write deadline.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
	cancel  context.CancelFunc // ends the episode when the client cannot be written to
	buf     []byte
}

func (e *sse) send(v any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.fail(fmt.Errorf("encoding an event: %w", err))
		return
	}
	e.buf = append(append(append(e.buf[:0], "data: "...), b...), "\n\n"...)
	e.raw(e.buf)
}

func (e *sse) raw(b []byte) {
	if e.err != nil {
		return
	}
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.timeout))
	if _, err := e.w.Write(b); err != nil {
		e.fail(err)
		return
	}
	if err := e.rc.Flush(); err != nil {
		e.fail(err)
	}
}

func (e *sse) fail(err error) {
	e.err = err
	e.cancel()
}

// stream runs the episode, sending each event as a chunk as it happens,
// then the answer, the finish, the usage when asked, and [DONE].
func (s *Server) stream(w http.ResponseWriter, r *http.Request, x *exchange, withUsage bool) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sse{w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout, cancel: cancel}
	chunk := func(d *chatMessage, finish *string, rec *agent.EventRecord) completion {
		c := completion{ID: x.id, Object: "chat.completion.chunk", Created: x.created, Model: x.model,
			Choices: []choice{{Delta: d, FinishReason: finish}}}
		if rec != nil {
			c.Sleuth = rec
		}
		return c
	}
	var enc agent.EventEncoder
	p := x.sys.Preset
	p.Budget = x.budget
	start := enc.Start(x.id, x.question, &p, time.Now())
	empty := ""
	out.send(chunk(&chatMessage{Role: "assistant", Content: &empty}, nil, &start))
	var done *agent.EventRecord
	ep, cites, cited := x.run(ctx, func(ev agent.Event) {
		rec := enc.Record(ev)
		if rec.Type == agent.EventDone {
			done = &rec // sent with the answer below
			return
		}
		out.send(chunk(&chatMessage{ReasoningContent: Narrate(&rec)}, nil, &rec))
	})
	if out.err != nil || r.Context().Err() != nil {
		return
	}
	if e := failure(ep); e != nil {
		s.cfg.Logger.Warn("agent episode failed", "id", x.id, "model", x.model, "status", ep.Status, "reason", ep.Reason)
		if done != nil {
			out.send(chunk(&chatMessage{}, nil, done))
		}
		out.send(map[string]*apiError{"error": e})
		out.raw([]byte("data: [DONE]\n\n"))
		return
	}
	text := AnswerText(ep, cites, cited)
	c := chunk(&chatMessage{Content: &text}, nil, done)
	c.Citations = cites
	out.send(c)
	out.send(chunk(&chatMessage{}, finishReason(ep), nil))
	if withUsage {
		out.send(completion{ID: x.id, Object: "chat.completion.chunk", Created: x.created, Model: x.model, Choices: []choice{}, Usage: usageOf(ep)})
	}
	out.raw([]byte("data: [DONE]\n\n"))
}

// Narrate is a one-line account of a record for a person watching: what
// was searched and found, what the policy thought; empty for records with
// nothing to tell. Its text comes from the model and the corpus: escape it
// before showing it as markup.
func Narrate(rec *agent.EventRecord) string {
	switch {
	case rec.Call != nil:
		c := rec.Call
		var b strings.Builder
		fmt.Fprintf(&b, "%s %q", c.Tool, oneLine(c.Input))
		switch {
		case c.Error != "":
			fmt.Fprintf(&b, " failed: %s", oneLine(c.Error))
		case len(c.Hits) > 0:
			b.WriteString(" → ")
			for i, h := range c.Hits {
				if i > 0 {
					b.WriteString("; ")
				}
				b.WriteString(oneLine(h.Title))
			}
		}
		b.WriteString("\n")
		return b.String()
	case rec.Policy != nil:
		if t := strings.TrimSpace(rec.Policy.Action.Think); t != "" {
			return t + "\n"
		}
		if e := rec.Policy.Action.Error; e != "" {
			return "(malformed turn: " + oneLine(e) + ")\n"
		}
	}
	return ""
}
