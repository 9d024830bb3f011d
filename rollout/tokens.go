package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// TokenPolicy makes every request ask for logprobs and encodes the
// environment's text with the policy's own tokenizer (Tok), so that an
// episode against a remote server holds exact token streams: prompts go
// out as token ids, completions come back as token ids.
type TokenPolicy struct {
	llm.Client
	Tok func(string) []int
}

// NewTokenPolicy makes pol a TokenPolicy: with its own tokenizer when it
// has one (an in-process model), else with the tokenizer file at
// tokenizerPath (the served model's tokenizer.json). sleuth never
// rebuilds token ids from text, so a server without a tokenizer file is
// refused.
func NewTokenPolicy(pol llm.Client, tokenizerPath string) (TokenPolicy, error) {
	if t, ok := pol.(llm.Tokenizer); ok && t.Tokenize("a") != nil {
		return TokenPolicy{Client: pol, Tok: t.Tokenize}, nil
	}
	if tokenizerPath == "" {
		return TokenPolicy{}, errors.New("--tokenizer is required with a policy server: the policy's tokenizer.json, to encode prompts and tool output as the policy's token ids (sleuth never rebuilds ids from text)")
	}
	tok, err := tokenizer.Load(tokenizerPath)
	if err != nil {
		return TokenPolicy{}, err
	}
	return TokenPolicy{Client: pol, Tok: tok.Encode}, nil
}

// Generate asks the policy for req with logprobs.
func (p TokenPolicy) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	req.Logprobs = true
	return p.Client.Generate(ctx, req)
}

// Tokenize implements llm.Tokenizer.
func (p TokenPolicy) Tokenize(text string) []int { return p.Tok(text) }

// ProbeTokenIDs asks the policy for one token of a prompt given as ids and
// refuses a server that answers without token ids or logprobs.
func ProbeTokenIDs(ctx context.Context, pol TokenPolicy) error {
	ids := pol.Tokenize("Hello")
	resp, err := pol.Generate(ctx, llm.Request{PromptIDs: ids, MaxTokens: 1})
	if err != nil {
		return fmt.Errorf("probe the policy server: %w", err)
	}
	if len(resp.Choices) == 0 || len(resp.Choices[0].TokenIDs) == 0 {
		return errors.New("the policy server returned text without token ids: training needs the ids it generated (vLLM ≥ 0.10.2 or sleuth serve --model answer return_token_ids)")
	}
	if len(resp.Choices[0].Logprobs) != len(resp.Choices[0].TokenIDs) {
		return errors.New("the policy server returned token ids without a logprob for each")
	}
	return nil
}
