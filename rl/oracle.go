package rl

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/world"
)

// Oracle is a policy that knows the answers: for a world question it
// plays the shortest correct search path in the tag protocol (one search
// per hop, with the hop's own query, then the answer). Run through
// agent.Runner against the real index, it writes the SFT warm-up traces,
// with the same token segments and loss masks as RL episodes.
//
// It implements llm.Client and llm.Tokenizer; Encode must be the trained
// model's tokenizer, so the traces are exact token streams for it.
type Oracle struct {
	Encode func(text string) []int
	Decode func(ids []int) string

	mu    sync.Mutex
	byKey map[string]world.Question
}

// NewOracle prepares an oracle for questions.
func NewOracle(qs []world.Question, encode func(string) []int, decode func([]int) string) *Oracle {
	o := &Oracle{Encode: encode, Decode: decode, byKey: map[string]world.Question{}}
	for _, q := range qs {
		o.byKey[q.Question] = q
	}
	return o
}

// Tokenize implements llm.Tokenizer.
func (o *Oracle) Tokenize(text string) []int { return o.Encode(text) }

// Generate implements llm.Client: it finds the question in the prompt,
// counts the observations so far, and writes the next step.
func (o *Oracle) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	prompt := req.Prompt
	if req.PromptIDs != nil {
		prompt = o.Decode(req.PromptIDs)
	}
	q, ok := o.question(prompt)
	if !ok {
		return llm.Response{}, fmt.Errorf("oracle: no known question in the prompt")
	}
	done := strings.Count(prompt, "\n\n<information>")
	text := OracleStep(q, done, lastInformation(prompt))
	c := llm.Choice{Text: text, FinishReason: "stop"}
	for _, st := range req.Stop {
		if i := strings.Index(text, st); i >= 0 {
			c.Text, c.StopString = text[:i], st
			break
		}
	}
	c.TokenIDs = o.Encode(text[:len(c.Text)+len(c.StopString)])
	c.Logprobs = make([]float64, len(c.TokenIDs))
	return llm.Response{PromptIDs: req.PromptIDs, Choices: []llm.Choice{c}, Usage: llm.Usage{CompletionTokens: len(c.TokenIDs)}}, nil
}

func (o *Oracle) question(prompt string) (world.Question, bool) {
	i := strings.LastIndex(prompt, "Question: ")
	if i < 0 {
		return world.Question{}, false
	}
	line, _, _ := strings.Cut(prompt[i+len("Question: "):], "\n")
	o.mu.Lock()
	defer o.mu.Unlock()
	q, ok := o.byKey[strings.TrimSpace(line)]
	return q, ok
}

// OracleStep is the oracle's turn after done searches: the next hop's
// search, or the answer once every hop has been searched. info is the
// last information block the oracle was shown: after a search it first
// quotes the sentence that answers the hop it searched for, so that every
// name it then writes is a copy of text just before it (a small model
// learns to copy long before it learns to look things up far back).
func OracleStep(q world.Question, done int, info string) string {
	quote := ""
	if done > 0 && done <= len(q.Chain) {
		if s := factSentence(info, q.Chain[done-1].Object); s != "" {
			quote = s + " "
		}
	}
	if done < len(q.Chain) {
		h := q.Chain[done]
		return fmt.Sprintf("<think>%sI need the %s of %s.</think>\n<search> %s </search>", quote, strings.ReplaceAll(h.Relation, "_", " "), h.Subject, h.Query)
	}
	ans := ""
	if len(q.Answers) > 0 {
		ans = q.Answers[0]
	}
	return fmt.Sprintf("<think>%sSo the answer is %s.</think>\n<answer> %s </answer>", quote, ans, ans)
}

// lastInformation is the text of the prompt's last information block.
func lastInformation(prompt string) string {
	i := strings.LastIndex(prompt, "<information>")
	if i < 0 {
		return ""
	}
	rest := prompt[i+len("<information>"):]
	if j := strings.Index(rest, "</information>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// factSentence is the first sentence of info that names object: the
// sentence a reader would quote for the hop's answer.
func factSentence(info, object string) string {
	if object == "" {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if _, body, ok := strings.Cut(line, ") "); ok && strings.HasPrefix(line, "Doc ") {
			line = body // drop "Doc N(Title: …) "
		}
		for _, s := range strings.SplitAfter(line, ". ") {
			if strings.Contains(s, object) {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}
