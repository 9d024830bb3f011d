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
// search, or the answer once every hop has been searched. After a search
// it first states the fact it found as "The R of S is O." (when info, the
// last information block, names O): subject and relation come first and
// the object last, so the one name the policy must read out of the
// passages is written after everything that says which name it is, and
// each later copy of it ("I need the … of O", the answer) is a copy of
// text just before it. (Quoting the passage's own sentence instead asks a
// left-to-right model to pick a sentence by its first word, before it has
// seen the words that identify it.)
//
// Each search names the hops still to come ("I need the R1 of S, then its
// R2."), so whether to search again after a fact is read off the last
// thought (was there a "then"?) rather than worked out again from the
// question's nesting; policies trained without the plan answered
// multi-hop questions after their first hop.
func OracleStep(q world.Question, done int, info string) string {
	fact := ""
	if done > 0 && done <= len(q.Chain) {
		if h := q.Chain[done-1]; h.Object != "" && strings.Contains(info, h.Object) {
			fact = fmt.Sprintf("The %s of %s is %s. ", RelationWords(h.Relation), h.Subject, h.Object)
		}
	}
	if done < len(q.Chain) {
		h := q.Chain[done]
		var plan strings.Builder
		for _, later := range q.Chain[done+1:] {
			fmt.Fprintf(&plan, ", then its %s", RelationWords(later.Relation))
		}
		return fmt.Sprintf("<think>%sI need the %s of %s%s.</think>\n<search> %s </search>", fact, RelationWords(h.Relation), h.Subject, plan.String(), h.Query)
	}
	ans := ""
	if len(q.Answers) > 0 {
		ans = q.Answers[0]
	}
	return fmt.Sprintf("<think>%sSo the answer is %s.</think>\n<answer> %s </answer>", fact, ans, ans)
}

// RelationWords names a relation in the oracle's thoughts (and in the
// reading drills written in its words).
func RelationWords(rel string) string { return strings.ReplaceAll(rel, "_", " ") }

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
