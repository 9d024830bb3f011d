package agentapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/agent"
)

// chatRequest is the part of OpenAI's chat request an agent reads; other
// fields (temperature, tools, …) are accepted and ignored, as the preset
// decides how the policy samples.
type chatRequest struct {
	Model         string    `json:"model"`
	Messages      []message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int   `json:"max_tokens"`
	MaxCompletionTokens *int   `json:"max_completion_tokens"`
	Seed                *int64 `json:"seed"`
	Sleuth              *Ask   `json:"sleuth"`
}

// Ask is the budget a client asks for (the chat request's extension field
// "sleuth", the MCP research tool's arguments); nil fields keep the
// preset's. CapBudget caps every field.
type Ask struct {
	MaxTurns     *int     `json:"max_turns"`
	MaxToolCalls *int     `json:"max_tool_calls"`
	MaxTokens    *int     `json:"max_tokens"`
	MaxSeconds   *float64 `json:"max_seconds"`
}

// UnmarshalJSON rejects unknown fields, so a misspelt budget is an error
// rather than silently the default.
func (b *Ask) UnmarshalJSON(data []byte) error {
	type plain Ask
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	*b = Ask(p)
	return nil
}

type message struct {
	Role    string  `json:"role"`
	Content content `json:"content"`
}

// content is a message's "content": a string, null, or a list of content
// parts of which the text parts are kept.
type content string

func (c *content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = content(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New("content must be a string or a list of content parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(p.Text)
		}
	}
	*c = content(sb.String())
	return nil
}

// parseChat decodes a request body and finds its question: the last user
// message. Earlier turns of a conversation are not shown to the agent: an
// episode researches one question from scratch.
func parseChat(body []byte, maxQuestion int) (chatRequest, string, *apiError) {
	var req chatRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, "", badRequest("", "invalid JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, "", badRequest("", "invalid JSON body: trailing data after the request object")
	}
	if len(req.Messages) == 0 {
		return req, "", badRequest("messages", "messages must hold at least one user message")
	}
	q := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			q = strings.TrimSpace(string(req.Messages[i].Content))
			break
		}
	}
	switch {
	case q == "":
		return req, "", badRequest("messages", "no user message with text: the last user message is the question")
	case len(q) > maxQuestion:
		return req, "", badRequest("messages", "the question is %d bytes; at most %d", len(q), maxQuestion)
	}
	return req, q, nil
}

// budget is the episode budget for req on preset p (see CapBudget); a
// token budget may also come as max_completion_tokens or max_tokens.
func budget(p agent.Budget, lim Limits, req chatRequest) (agent.Budget, *apiError) {
	ask := Ask{}
	if req.Sleuth != nil {
		ask = *req.Sleuth
	}
	if ask.MaxTokens == nil {
		ask.MaxTokens = req.MaxCompletionTokens
	}
	if ask.MaxTokens == nil {
		ask.MaxTokens = req.MaxTokens
	}
	b, field, err := CapBudget(p, lim, ask)
	if err != nil {
		return b, badRequest("sleuth."+field, "sleuth.%v", err)
	}
	return b, nil
}

// CapBudget is the budget of an episode of a preset whose own budget is
// p when a client asks for ask: p changed by ask, every field capped by
// lim (a zero limit caps at p's value). A field asked for below 1 (or not
// positive, for seconds) is an error naming the field.
func CapBudget(p agent.Budget, lim Limits, ask Ask) (b agent.Budget, field string, err error) {
	capOf := func(l, own int) int {
		if l > 0 {
			return l
		}
		return own
	}
	turnsCap, tokCap, callCap := capOf(lim.MaxTurns, p.MaxTurns), capOf(lim.MaxTokens, p.MaxTokens), capOf(lim.MaxToolCalls, p.MaxToolCalls)
	wallCap := p.MaxWall
	if lim.MaxWall > 0 {
		wallCap = lim.MaxWall
	}
	b = p
	b.MaxTurns, b.MaxTokens, b.MaxToolCalls, b.MaxWall = min(p.MaxTurns, turnsCap), min(p.MaxTokens, tokCap), min(p.MaxToolCalls, callCap), min(p.MaxWall, wallCap)
	for _, f := range []struct {
		name string
		v    *int
		cap  int
		dst  *int
	}{
		{"max_turns", ask.MaxTurns, turnsCap, &b.MaxTurns},
		{"max_tool_calls", ask.MaxToolCalls, callCap, &b.MaxToolCalls},
		{"max_tokens", ask.MaxTokens, tokCap, &b.MaxTokens},
	} {
		if f.v == nil {
			continue
		}
		if *f.v < 1 {
			return b, f.name, fmt.Errorf("%s must be at least 1, got %d", f.name, *f.v)
		}
		*f.dst = min(*f.v, f.cap)
	}
	if s := ask.MaxSeconds; s != nil {
		if !(*s > 0) || math.IsInf(*s, 0) {
			return b, "max_seconds", fmt.Errorf("max_seconds must be positive, got %g", *s)
		}
		b.MaxWall = wallCap
		if *s < wallCap.Seconds() {
			b.MaxWall = time.Duration(*s * float64(time.Second))
		}
	}
	return b, "", nil
}
