// Package local adapts sleuth's in-process transformer engine (package
// model) to the llm.Client interface, so agents, the evaluator, the trainer
// and the OpenAI-compatible server use the engine exactly as they use a
// remote vLLM or Ollama server.
//
// Text and token ids follow vLLM's conventions: TokenIDs hold every
// generated id (a stop token or the tokens of a stop string included), while
// Text ends before the stop string and omits a final EOS or end-of-turn
// token. RL consumes TokenIDs and Logprobs and never re-tokenises Text.
package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// Config tunes a Client. Zero fields take the defaults noted.
type Config struct {
	Name string // model name reported in responses (default "local")
	// ChatTemplate renders Messages: tokenizer.ChatQwen2, ChatML or
	// ChatLlama3. Empty renders "role: content" lines ending in
	// "assistant:", for small models trained without a chat format.
	ChatTemplate string
	// NoBOS stops the client from prepending the tokenizer's BOS id to text
	// prompts (chat templates that write their own BOS are never doubled).
	NoBOS bool
}

// Client generates with an in-process model. It is safe for concurrent use;
// requests run one at a time, each as one batch over its N samples, since
// the engine already uses every core within a request.
type Client struct {
	m    *model.Model
	tok  tokenizer.Tokenizer
	cfg  Config
	mu   sync.Mutex
	stop []int // ids that end a sequence: EOS and end-of-turn tokens
}

// New wraps m and its tokenizer. tok may be nil, in which case only
// PromptIDs requests are served and choices carry no text.
func New(m *model.Model, tok tokenizer.Tokenizer, cfg Config) *Client {
	if cfg.Name == "" {
		cfg.Name = "local"
	}
	c := &Client{m: m, tok: tok, cfg: cfg}
	if tok != nil {
		if eos := tok.EOS(); eos >= 0 {
			c.stop = append(c.stop, eos)
		}
		for _, s := range []string{"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end_of_text|>"} {
			if id, ok := tok.TokenID(s); ok && id != tok.EOS() {
				c.stop = append(c.stop, id)
			}
		}
	}
	return c
}

// Model returns the wrapped engine.
func (c *Client) Model() *model.Model { return c.m }

// Tokenizer returns the wrapped tokenizer (nil when there is none).
func (c *Client) Tokenizer() tokenizer.Tokenizer { return c.tok }

// Tokenize implements llm.Tokenizer: the ids of text with no BOS added.
// It returns nil when the client has no tokenizer.
func (c *Client) Tokenize(text string) []int {
	if c.tok == nil {
		return nil
	}
	return c.tok.Encode(text)
}

// Encode renders a request's prompt as token ids, the way Generate will.
func (c *Client) Encode(req llm.Request) ([]int, error) {
	switch {
	case len(req.PromptIDs) > 0:
		return req.PromptIDs, nil
	case c.tok == nil:
		return nil, &llm.InvalidRequestError{Msg: "this model has no tokenizer: send the prompt as token ids"}
	case req.Prompt != "" || len(req.Messages) == 0:
		return c.withBOS(c.tok.Encode(req.Prompt)), nil
	}
	text, err := c.renderChat(req.Messages)
	if err != nil {
		return nil, &llm.InvalidRequestError{Msg: err.Error()}
	}
	return c.withBOS(c.tok.Encode(text)), nil
}

func (c *Client) withBOS(ids []int) []int {
	bos := c.tok.BOS()
	if c.cfg.NoBOS || bos < 0 || (len(ids) > 0 && ids[0] == bos) {
		return ids
	}
	return append([]int{bos}, ids...)
}

func (c *Client) renderChat(msgs []llm.Message) (string, error) {
	if c.cfg.ChatTemplate == "" {
		var b strings.Builder
		for _, m := range msgs {
			fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
		}
		b.WriteString("assistant:")
		return b.String(), nil
	}
	tm := make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return tokenizer.ApplyChatTemplate(c.cfg.ChatTemplate, tm, true)
}

// Generate implements llm.Client.
func (c *Client) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	prompt, err := c.Encode(req)
	if err != nil {
		return llm.Response{}, err
	}
	if len(prompt) == 0 {
		return llm.Response{}, &llm.InvalidRequestError{Msg: "empty prompt"}
	}
	if req.MaxTokens <= 0 {
		return llm.Response{}, &llm.InvalidRequestError{Msg: "max tokens must be positive"}
	}
	if limit := c.m.Config.SeqLen; len(prompt) >= limit {
		return llm.Response{}, &llm.InvalidRequestError{Msg: fmt.Sprintf("prompt of %d tokens leaves no room in the model's context of %d", len(prompt), limit)}
	}
	for _, id := range prompt {
		if id < 0 || id >= c.m.Config.Vocab {
			return llm.Response{}, &llm.InvalidRequestError{Msg: fmt.Sprintf("token id %d is outside the vocabulary of %d", id, c.m.Config.Vocab)}
		}
	}
	opt := model.GenerateOptions{
		MaxTokens:   req.MaxTokens,
		N:           max(req.N, 1),
		Temperature: req.Temperature,
		TopK:        req.TopK,
		TopP:        req.TopP,
		StopTokens:  c.stop,
	}
	if req.Seed != nil {
		opt.Seed = uint64(*req.Seed)
	} else {
		opt.Seed = rand.Uint64()
	}
	if len(req.Stop) > 0 {
		if c.tok == nil {
			return llm.Response{}, &llm.InvalidRequestError{Msg: "stop strings need a tokenizer"}
		}
		opt.StopStrings = req.Stop
		opt.Decode = c.tok.Decode
	}
	c.mu.Lock()
	seqs, err := c.m.Generate(ctx, [][]int{prompt}, opt)
	c.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return llm.Response{}, ctx.Err()
		}
		return llm.Response{}, fmt.Errorf("local generate: %w", err)
	}
	resp := llm.Response{Model: c.cfg.Name, PromptIDs: prompt, Usage: llm.Usage{PromptTokens: len(prompt)}}
	for _, s := range seqs {
		ch := c.choice(prompt, s, req.Stop)
		resp.Usage.CompletionTokens += len(ch.TokenIDs)
		resp.Choices = append(resp.Choices, ch)
	}
	return resp, nil
}

func (c *Client) choice(prompt []int, s model.Sequence, stops []string) llm.Choice {
	ch := llm.Choice{TokenIDs: s.Tokens, FinishReason: string(s.FinishReason), Logprobs: make([]float64, len(s.Logprobs))}
	for i, v := range s.Logprobs {
		ch.Logprobs[i] = float64(v)
	}
	if c.tok == nil {
		return ch
	}
	dec := tokenizer.NewStreamDecoder(c.tok, prompt[len(prompt)-1])
	ch.Tokens = make([]string, len(s.Tokens))
	var text strings.Builder
	for i, id := range s.Tokens {
		ch.Tokens[i] = dec.Add(id)
		if i == len(s.Tokens)-1 {
			ch.Tokens[i] += dec.Flush()
		}
		if !(i == len(s.Tokens)-1 && c.isStopToken(id)) {
			text.WriteString(ch.Tokens[i])
		}
	}
	ch.Text = text.String()
	if s.Stop != "" {
		ch.StopString = s.Stop
		if i := strings.Index(ch.Text, s.Stop); i >= 0 {
			ch.Text = ch.Text[:i]
		}
	} else if len(stops) > 0 && ch.FinishReason == string(model.FinishStop) {
		for _, st := range stops {
			if i := strings.Index(ch.Text, st); i >= 0 {
				ch.Text = ch.Text[:i]
			}
		}
	}
	return ch
}

func (c *Client) isStopToken(id int) bool {
	for _, s := range c.stop {
		if s == id {
			return true
		}
	}
	return false
}
