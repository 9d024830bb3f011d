// Package llm defines the Client seam between agents and language models:
// the in-process engine and OpenAI-compatible servers (vLLM, SGLang,
// Ollama, sleuth's own) both sit behind it. Token ids and logprobs travel
// with the text so that RL never re-tokenises what a policy generated.
package llm

import "context"

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"` // "system", "user", "assistant" or "tool"
	Content string `json:"content"`
	// Parts, when set, is the content as OpenAI content parts (text and
	// images, parts.go) and is what goes on the wire; Content should then
	// hold the parts' text, for backends that read text only.
	Parts []Part `json:"-"`
}

// Request asks for one or more completions of one prompt.
//
// Exactly one of PromptIDs, Prompt and Messages is the prompt, checked in
// that order: token ids win over text, text over chat messages (which the
// backend renders with its chat template).
type Request struct {
	Model     string    // backend-specific model name; empty picks the default
	PromptIDs []int     // prompt as token ids
	Prompt    string    // prompt as text
	Messages  []Message // prompt as chat

	MaxTokens   int      // tokens to generate per completion; must be > 0
	Temperature float64  // 0 is greedy decoding
	TopP        float64  // nucleus mass in (0,1]; 0 is treated as 1 (off)
	TopK        int      // keep the k most likely tokens; 0 is off
	Seed        *int64   // nil: unseeded (backend's choice)
	Stop        []string // generation stops before the first occurrence of any
	N           int      // completions to return; 0 is treated as 1
	Logprobs    bool     // return the logprob of each generated token
}

// Choice is one completion.
type Choice struct {
	Text         string    `json:"text"`
	TokenIDs     []int     `json:"token_ids,omitempty"` // nil when the backend does not return ids
	Tokens       []string  `json:"tokens,omitempty"`    // text of each generated token, when known
	Logprobs     []float64 `json:"logprobs,omitempty"`  // one per token in TokenIDs (or per returned token)
	FinishReason string    `json:"finish_reason"`       // "stop", "length", or a backend reason
	// StopString is the stop string that ended the choice (vLLM's
	// stop_reason), when the backend says; Text ends before it.
	StopString string `json:"stop_string,omitempty"`
}

// Tokenizer is an optional capability of a Client whose token ids are
// known locally: it turns observation text into the ids the policy will
// see, so episodes carry exact token streams without asking the server.
type Tokenizer interface {
	Tokenize(text string) []int
}

// Usage counts tokens as the backend reports them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Response holds the completions of one Request, in order.
type Response struct {
	Model     string   `json:"model"`
	PromptIDs []int    `json:"prompt_ids,omitempty"` // the prompt as the backend tokenised it, when known
	Choices   []Choice `json:"choices"`
	Usage     Usage    `json:"usage"`
}

// Client generates completions. Implementations are safe for concurrent use.
type Client interface {
	Generate(ctx context.Context, req Request) (Response, error)
}

// Token is one generated token as a streaming backend reports it.
type Token struct {
	ID      int     `json:"id"`
	Text    string  `json:"text"` // may be empty while a multi-byte character is incomplete
	Logprob float64 `json:"logprob"`
}

// Streamer is an optional capability of a Client: it reports each token of
// each choice as it is generated, then returns the full Response. emit is
// called from one goroutine at a time; an error from emit cancels the
// generation and is returned.
type Streamer interface {
	GenerateStream(ctx context.Context, req Request, emit func(choice int, tok Token) error) (Response, error)
}

// InvalidRequestError reports a request the backend cannot serve as asked
// (a prompt longer than the context, an unknown token id): the caller's
// fault, which servers answer with 400 rather than 500.
type InvalidRequestError struct {
	Msg string
	// ContextExceeded says the prompt leaves no room in the model's
	// context: for an agent, a budget running out rather than a failure.
	ContextExceeded bool
}

func (e *InvalidRequestError) Error() string { return e.Msg }
