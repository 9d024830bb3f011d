package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sleuth-research/sleuth/llm"
)

// prompt is the completions "prompt" field: a string, a list of strings, a
// list of token ids, or a list of token-id lists. Each element becomes one
// prompt; choices are numbered prompt-major as OpenAI does.
type prompt struct {
	texts []string
	ids   [][]int
}

func (p *prompt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return errors.New("prompt is required")
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p.texts = []string{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err == nil {
		p.texts = ss
		return nil
	}
	var ids []int
	if err := json.Unmarshal(b, &ids); err == nil {
		p.ids = [][]int{ids}
		return nil
	}
	var idss [][]int
	if err := json.Unmarshal(b, &idss); err == nil {
		p.ids = idss
		return nil
	}
	return errors.New("prompt must be a string, a list of strings, a list of token ids or a list of token-id lists")
}

func (p prompt) count() int { return len(p.texts) + len(p.ids) }

// stop is the "stop" field: a string or a list of strings.
type stop []string

func (s *stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stop{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or a list of strings")
	}
	*s = many
	return nil
}

// sampling holds the fields the completions and chat requests share.
// Pointers distinguish "absent" from an explicit zero.
type sampling struct {
	Model       string   `json:"model"`
	MaxTokens   *int     `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	TopK        *int     `json:"top_k"` // vLLM extension
	N           *int     `json:"n"`
	Seed        *int64   `json:"seed"`
	Stop        stop     `json:"stop"`
	Stream      bool     `json:"stream"`

	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`

	// vLLM extensions: token ids back, and tokens rendered as "token_id:N".
	ReturnTokenIDs         bool `json:"return_token_ids"`
	ReturnTokensAsTokenIDs bool `json:"return_tokens_as_token_ids"`
}

type completionRequest struct {
	sampling
	Prompt   prompt `json:"prompt"`
	Logprobs *int   `json:"logprobs"` // number of top alternatives; non-null asks for logprobs
	Echo     bool   `json:"echo"`
}

type chatRequest struct {
	sampling
	Messages            []llm.Message `json:"messages"`
	MaxCompletionTokens *int          `json:"max_completion_tokens"`
	Logprobs            bool          `json:"logprobs"`
	TopLogprobs         *int          `json:"top_logprobs"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// completionLogprobs is the legacy completions logprobs object.
type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionChoice struct {
	Index        int                 `json:"index"`
	Text         string              `json:"text"`
	Logprobs     *completionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
	StopReason   *string             `json:"stop_reason,omitempty"`      // vLLM: the stop string that ended the choice
	TokenIDs     []int               `json:"token_ids,omitempty"`        // vLLM return_token_ids
	PromptIDs    []int               `json:"prompt_token_ids,omitempty"` // vLLM return_token_ids
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

type chatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float64          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []chatTopLogprob `json:"top_logprobs"`
}

type chatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type chatLogprobs struct {
	Content []chatTokenLogprob `json:"content"`
}

type chatMessage struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatMessage  `json:"message,omitempty"`
	Delta        *chatMessage  `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
	StopReason   *string       `json:"stop_reason,omitempty"` // vLLM: the stop string that ended the choice
	TokenIDs     []int         `json:"token_ids,omitempty"`
}

type chatResponse struct {
	ID             string       `json:"id"`
	Object         string       `json:"object"`
	Created        int64        `json:"created"`
	Model          string       `json:"model"`
	Choices        []chatChoice `json:"choices"`
	Usage          *usage       `json:"usage,omitempty"`
	PromptTokenIDs []int        `json:"prompt_token_ids,omitempty"`
}

type modelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelCard `json:"data"`
}

// apiError is OpenAI's error body: {"error":{"message","type","param","code"}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }
