package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sleuth-research/sleuth/reward"
)

// CreateRequest opens a session: POST /env/sessions.
type CreateRequest struct {
	// Preset names the seed system (searchr1, deepresearcher, …).
	Preset string `json:"preset"`
	// ID, when given, is the session's id: a second create with the same
	// id returns the open session rather than a new one, so a client that
	// creates before every tool call (verl's ToolAgentLoop) keeps one
	// episode. Empty: the server picks one.
	ID string `json:"id,omitempty"`
	// QuestionID names the question in traces; default ID.
	QuestionID string      `json:"question_id,omitempty"`
	Question   string      `json:"question"`
	Gold       reward.Gold `json:"gold"`
}

// CallRequest runs one tool call in a session:
// POST /env/sessions/{id}/call. Give Input (the query, URL or box as
// text) or Arguments (a function call's JSON arguments: query, queries,
// url, url_list or urls, as a string or a list; each input is one call).
type CallRequest struct {
	Tool      string            `json:"tool"`
	Input     string            `json:"input,omitempty"`
	Args      map[string]string `json:"args,omitempty"`
	Arguments map[string]any    `json:"arguments,omitempty"`
}

// ScoreRequest scores an episode: POST /env/sessions/{id}/score (which
// also ends the session) or POST /env/score (no session: preset,
// question and gold in the body). Give exactly one of Solution (the
// rollout's response text, observations and all), Turns (the policy's
// generations in order) or Answer (the final answer alone, scored as one
// well-formed answer turn).
type ScoreRequest struct {
	Preset   string       `json:"preset,omitempty"`
	Question string       `json:"question,omitempty"`
	Gold     *reward.Gold `json:"gold,omitempty"`

	Solution *string  `json:"solution,omitempty"`
	Turns    []string `json:"turns,omitempty"`
	Answer   *string  `json:"answer,omitempty"`
}

// Limits on what a request may hold; bodies are capped separately.
const (
	maxIDLen       = 128
	maxQuestionLen = 64 << 10
	maxTurns       = 256
)

// decodeJSON reads exactly one JSON object into v; unknown fields are
// errors, so a misspelt field never silently does nothing.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("request body: more than one JSON value")
	}
	return nil
}

// ParseCreate decodes and checks a create request.
func ParseCreate(b []byte) (CreateRequest, error) {
	var r CreateRequest
	if err := decodeJSON(b, &r); err != nil {
		return r, err
	}
	switch {
	case r.Preset == "":
		return r, errors.New("preset is required")
	case strings.TrimSpace(r.Question) == "":
		return r, errors.New("question is required")
	case len(r.Question) > maxQuestionLen:
		return r, fmt.Errorf("question of %d bytes exceeds %d", len(r.Question), maxQuestionLen)
	}
	if r.ID != "" {
		if err := checkID(r.ID); err != nil {
			return r, err
		}
	}
	if r.Gold.Question == "" {
		r.Gold.Question = r.Question
	}
	return r, nil
}

// ParseCall decodes and checks a call request.
func ParseCall(b []byte) (CallRequest, error) {
	var r CallRequest
	if err := decodeJSON(b, &r); err != nil {
		return r, err
	}
	switch {
	case r.Tool == "":
		return r, errors.New("tool is required")
	case (r.Input == "") == (r.Arguments == nil):
		return r, errors.New("give input or arguments, not both or neither")
	case r.Arguments != nil && r.Args != nil:
		return r, errors.New("args go with input; with arguments, put them among the arguments")
	}
	return r, nil
}

// ParseScore decodes and checks a score request; stateless says whether
// it names its own preset, question and gold (POST /env/score).
func ParseScore(b []byte, stateless bool) (ScoreRequest, error) {
	var r ScoreRequest
	if err := decodeJSON(b, &r); err != nil {
		return r, err
	}
	given := 0
	for _, ok := range []bool{r.Solution != nil, r.Turns != nil, r.Answer != nil} {
		if ok {
			given++
		}
	}
	switch {
	case given != 1:
		return r, errors.New("give exactly one of solution, turns or answer")
	case len(r.Turns) > maxTurns:
		return r, fmt.Errorf("%d turns exceed %d", len(r.Turns), maxTurns)
	case stateless && (r.Preset == "" || r.Gold == nil):
		return r, errors.New("preset and gold are required without a session")
	case !stateless && (r.Preset != "" || r.Question != "" || r.Gold != nil):
		return r, errors.New("a session's preset, question and gold were given when it was created")
	case len(r.Question) > maxQuestionLen:
		return r, fmt.Errorf("question of %d bytes exceeds %d", len(r.Question), maxQuestionLen)
	}
	if stateless && r.Question == "" {
		r.Question = r.Gold.Question
	}
	return r, nil
}

// checkID accepts ids a URL path carries as they are.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("session id must be 1 to %d characters", maxIDLen)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fmt.Errorf("session id %.40q: only letters, digits and - _ . : are allowed", id)
		}
	}
	return nil
}
