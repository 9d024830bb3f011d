package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/sleuth-research/sleuth/llm"
)

var chatRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var body chatRequest
	if e := s.decode(w, r, &body); e != nil {
		writeError(w, e)
		return
	}
	maxTokens := body.MaxTokens
	if body.MaxCompletionTokens != nil {
		maxTokens = body.MaxCompletionTokens
	}
	req, e := s.toRequest(body.sampling, maxTokens)
	if e == nil {
		e = checkChat(body)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	req.Messages = body.Messages
	req.Logprobs = body.Logprobs
	if body.Stream {
		s.streamChat(w, r.Context(), body, req)
		return
	}
	resp, err := s.generate(r.Context(), req, nil)
	if err != nil {
		writeError(w, generationError(err))
		return
	}
	out := chatResponse{ID: newID("chatcmpl-"), Object: "chat.completion", Created: time.Now().Unix(), Model: s.cfg.Model, Usage: &usage{}}
	for i, c := range resp.Choices {
		text := c.Text
		cc := chatChoice{Index: i, Message: &chatMessage{Role: "assistant", Content: &text}, FinishReason: finish(c.FinishReason), StopReason: stopReason(c)}
		if body.Logprobs {
			cc.Logprobs = chatLogprobsOf(c, body.ReturnTokensAsTokenIDs)
		}
		if body.ReturnTokenIDs {
			cc.TokenIDs = c.TokenIDs
		}
		out.Choices = append(out.Choices, cc)
	}
	addUsage(out.Usage, resp)
	if body.ReturnTokenIDs {
		out.PromptTokenIDs = resp.PromptIDs
	}
	writeJSON(w, http.StatusOK, out)
}

func checkChat(body chatRequest) *apiError {
	if len(body.Messages) == 0 {
		return badRequest("messages", "messages must be a non-empty list")
	}
	for i, m := range body.Messages {
		if !chatRoles[m.Role] {
			return badRequest("messages", "messages[%d].role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
	}
	if tl := body.TopLogprobs; tl != nil {
		if *tl < 0 || *tl > 20 {
			return badRequest("top_logprobs", "top_logprobs must be between 0 and 20, got %d", *tl)
		}
		if !body.Logprobs && *tl > 0 {
			return badRequest("top_logprobs", "top_logprobs requires logprobs to be true")
		}
	}
	return nil
}

func chatLogprobsOf(c llm.Choice, asIDs bool) *chatLogprobs {
	lp := &chatLogprobs{Content: []chatTokenLogprob{}}
	for i, v := range c.Logprobs {
		tok := tokenString(c, i, asIDs)
		lp.Content = append(lp.Content, chatTokenLogprob{Token: tok, Logprob: v, Bytes: bytesOf(tok), TopLogprobs: []chatTopLogprob{}})
	}
	return lp
}

func bytesOf(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}

func (s *Server) streamChat(w http.ResponseWriter, ctx context.Context, body chatRequest, req llm.Request) {
	sw := newSSE(w, s.cfg.Guard.WriteStall)
	id, created := newID("chatcmpl-"), time.Now().Unix()
	chunk := func(c chatChoice) error {
		return sw.send(chatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.cfg.Model, Choices: []chatChoice{c}})
	}
	started := make([]bool, req.N)
	emit := func(ci int, tok llm.Token) error {
		d := &chatMessage{Content: strPtr(tok.Text)}
		if !started[ci] {
			started[ci] = true
			d.Role = "assistant"
		}
		c := chatChoice{Index: ci, Delta: d}
		if body.Logprobs {
			one := llm.Choice{Tokens: []string{tok.Text}, TokenIDs: []int{tok.ID}, Logprobs: []float64{tok.Logprob}}
			c.Logprobs = chatLogprobsOf(one, body.ReturnTokensAsTokenIDs)
		}
		if body.ReturnTokenIDs {
			c.TokenIDs = []int{tok.ID}
		}
		return chunk(c)
	}
	resp, err := s.generate(ctx, req, emit)
	if err != nil {
		sw.fail(generationError(err))
		return
	}
	_, streamed := s.client.(llm.Streamer)
	for ci, c := range resp.Choices {
		last := chatChoice{Index: ci, Delta: &chatMessage{}, FinishReason: finish(c.FinishReason)}
		if !streamed { // the whole completion arrives in its one chunk
			last.Delta = &chatMessage{Role: "assistant", Content: strPtr(c.Text)}
			if body.Logprobs {
				last.Logprobs = chatLogprobsOf(c, body.ReturnTokensAsTokenIDs)
			}
			if body.ReturnTokenIDs {
				last.TokenIDs = c.TokenIDs
			}
		}
		if err := chunk(last); err != nil {
			return
		}
	}
	if body.StreamOptions != nil && body.StreamOptions.IncludeUsage {
		u := &usage{}
		addUsage(u, resp)
		if err := sw.send(chatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: s.cfg.Model, Choices: []chatChoice{}, Usage: u}); err != nil {
			return
		}
	}
	sw.done()
}

func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
