package openai

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/server/httpguard"
)

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var body completionRequest
	if e := s.decode(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	req, e := s.toRequest(body.sampling, body.MaxTokens)
	if e == nil {
		e = checkCompletion(body, s.cfg.MaxPrompts)
	}
	if e == nil && body.Prompt.count()*req.N > s.cfg.MaxSeqs {
		e = badRequest("n", "%d prompts times n = %d is %d sequences; at most %d per request", body.Prompt.count(), req.N, body.Prompt.count()*req.N, s.cfg.MaxSeqs)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	req.Logprobs = body.Logprobs != nil
	reqs := make([]llm.Request, 0, body.Prompt.count())
	for _, t := range body.Prompt.texts {
		q := req
		q.Prompt = t
		reqs = append(reqs, q)
	}
	for _, ids := range body.Prompt.ids {
		q := req
		q.PromptIDs = ids
		reqs = append(reqs, q)
	}
	if body.Stream {
		s.streamCompletions(w, r.Context(), body, reqs)
		return
	}
	out := completionResponse{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: s.cfg.Model, Usage: &usage{}}
	for pi, q := range reqs {
		resp, err := s.generate(r.Context(), q, nil)
		if err != nil {
			writeError(w, generationError(err))
			return
		}
		for ci, c := range resp.Choices {
			cc := completionChoiceOf(pi*req.N+ci, c, body)
			if body.ReturnTokenIDs {
				cc.PromptIDs = resp.PromptIDs
			}
			out.Choices = append(out.Choices, cc)
		}
		addUsage(out.Usage, resp)
	}
	writeJSON(w, http.StatusOK, out)
}

func checkCompletion(body completionRequest, maxPrompts int) *apiError {
	switch n := body.Prompt.count(); {
	case n == 0:
		return badRequest("prompt", "prompt is required")
	case n > maxPrompts:
		return badRequest("prompt", "at most %d prompts per request, got %d", maxPrompts, n)
	}
	for i, ids := range body.Prompt.ids {
		if len(ids) == 0 {
			return badRequest("prompt", "prompt %d has no token ids", i)
		}
	}
	if lp := body.Logprobs; lp != nil && (*lp < 0 || *lp > 20) {
		return badRequest("logprobs", "logprobs must be between 0 and 20, got %d", *lp)
	}
	if body.Echo {
		return badRequest("echo", "echo is not supported")
	}
	return nil
}

func completionChoiceOf(index int, c llm.Choice, body completionRequest) completionChoice {
	cc := completionChoice{Index: index, Text: c.Text, FinishReason: finish(c.FinishReason), StopReason: stopReason(c)}
	if body.Logprobs != nil {
		cc.Logprobs = completionLogprobsOf(c, body.ReturnTokensAsTokenIDs, 0)
	}
	if body.ReturnTokenIDs {
		cc.TokenIDs = c.TokenIDs
	}
	return cc
}

// completionLogprobsOf builds the legacy logprobs object; offset is where
// the first token starts in the choice's text (non-zero while streaming).
func completionLogprobsOf(c llm.Choice, asIDs bool, offset int) *completionLogprobs {
	lp := &completionLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TextOffset: []int{}}
	for i, v := range c.Logprobs {
		tok := tokenString(c, i, asIDs)
		lp.Tokens = append(lp.Tokens, tok)
		lp.TokenLogprobs = append(lp.TokenLogprobs, v)
		lp.TextOffset = append(lp.TextOffset, offset)
		offset += len(tok)
	}
	return lp
}

// tokenString renders token i of a choice: its text, or vLLM's
// "token_id:N" form when asked or when the backend gave no text.
func tokenString(c llm.Choice, i int, asIDs bool) string {
	if !asIDs && i < len(c.Tokens) {
		return c.Tokens[i]
	}
	if i < len(c.TokenIDs) {
		return "token_id:" + strconv.Itoa(c.TokenIDs[i])
	}
	return ""
}

func stopReason(c llm.Choice) *string {
	if c.StopString == "" {
		return nil
	}
	return &c.StopString
}

func addUsage(u *usage, resp llm.Response) {
	u.PromptTokens += resp.Usage.PromptTokens
	u.CompletionTokens += resp.Usage.CompletionTokens
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
}

func (s *Server) streamCompletions(w http.ResponseWriter, ctx context.Context, body completionRequest, reqs []llm.Request) {
	sw := newSSE(w, s.cfg.Guard.WriteStall)
	id, created := newID("cmpl-"), time.Now().Unix()
	chunk := func(c completionChoice) error {
		return sw.send(completionResponse{ID: id, Object: "text_completion", Created: created, Model: s.cfg.Model, Choices: []completionChoice{c}})
	}
	total := &usage{}
	for pi, q := range reqs {
		base := pi * q.N
		offsets := make([]int, q.N)
		emit := func(ci int, tok llm.Token) error {
			c := completionChoice{Index: base + ci, Text: tok.Text}
			if body.Logprobs != nil {
				one := llm.Choice{Tokens: []string{tok.Text}, TokenIDs: []int{tok.ID}, Logprobs: []float64{tok.Logprob}}
				c.Logprobs = completionLogprobsOf(one, body.ReturnTokensAsTokenIDs, offsets[ci])
			}
			if body.ReturnTokenIDs {
				c.TokenIDs = []int{tok.ID}
			}
			offsets[ci] += len(tok.Text)
			return chunk(c)
		}
		resp, err := s.generate(ctx, q, emit)
		if err != nil {
			sw.fail(generationError(err))
			return
		}
		_, streamed := s.client.(llm.Streamer)
		for ci, c := range resp.Choices {
			last := completionChoice{Index: base + ci, FinishReason: finish(c.FinishReason)}
			if !streamed { // the whole completion arrives in its one chunk
				last = completionChoiceOf(base+ci, c, body)
			}
			if err := chunk(last); err != nil {
				return
			}
		}
		addUsage(total, resp)
	}
	if body.StreamOptions != nil && body.StreamOptions.IncludeUsage {
		if err := sw.send(completionResponse{ID: id, Object: "text_completion", Created: created, Model: s.cfg.Model, Choices: []completionChoice{}, Usage: total}); err != nil {
			return
		}
	}
	sw.done()
}

// sse writes server-sent events; the first event sends the headers, so an
// error before any event can still be answered with a proper status. Each
// write must finish within stall: a client that stops reading fails the
// write, which cancels its generation, instead of holding the handler.
type sse struct {
	w       http.ResponseWriter
	stall   time.Duration
	started bool
}

func newSSE(w http.ResponseWriter, stall time.Duration) *sse { return &sse{w: w, stall: stall} }

func (s *sse) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	s.w.WriteHeader(http.StatusOK)
}

func (s *sse) send(v any) error {
	s.start()
	b, err := jsonMarshal(v)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	httpguard.SetWriteStall(s.w, s.stall)
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// fail reports an error: as an HTTP error before the stream started, as an
// error event (then [DONE]) after.
func (s *sse) fail(e *apiError) {
	if !s.started {
		writeError(s.w, e)
		return
	}
	_ = s.send(map[string]*apiError{"error": e})
	s.done()
}

func (s *sse) done() {
	s.start()
	httpguard.SetWriteStall(s.w, s.stall)
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}
