package agent

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/llm"
)

// RoleConfig configures a role other than the main policy: IM-RAG's
// refiner, MMOA's rewriter, selector and generator. Each generation of a
// role is recorded in the episode as that role's own context, so a
// multi-agent trainer can give each role its tokens and its reward.
type RoleConfig struct {
	// Prompt is the role's instruction template. Placeholders:
	// {question}, {documents} (the passages at hand) and {queries}.
	Prompt      string   `yaml:"prompt"`
	MaxTokens   int      `yaml:"max_tokens"` // default 128
	Temperature float64  `yaml:"temperature"`
	Stop        []string `yaml:"stop"`
}

// roleGenerate runs one generation of role on prompt and records it.
func (s *state) roleGenerate(ctx context.Context, role string, rc RoleConfig, prompt string, turn int) (string, error) {
	client := s.r.Policy
	if c, ok := s.r.Clients[role]; ok {
		client = c
	}
	if s.ep.Ledger.CompletionTokens >= s.r.Preset.Budget.MaxTokens {
		return "", fmt.Errorf("%w: %d generated tokens", errBudget, s.ep.Ledger.CompletionTokens)
	}
	req := llm.Request{MaxTokens: max(rc.MaxTokens, 1), Temperature: rc.Temperature, Stop: rc.Stop}
	if s.seed != nil {
		seed := *s.seed + int64(s.index)*1000 + int64(turn) + 500
		req.Seed = &seed
	}
	envSeg := Segment{Source: Env, Role: role, Turn: turn, Text: prompt}
	tok := tokenizerOf(client)
	if tok != nil {
		envSeg.TokenIDs = tok.Tokenize(prompt)
		req.PromptIDs = envSeg.TokenIDs
	} else {
		req.Prompt = prompt
	}
	start := time.Now()
	resp, err := client.Generate(ctx, req)
	s.ep.Ledger.LLMTime += time.Since(start)
	if err != nil {
		return "", fmt.Errorf("turn %d: %s: llm: %w", turn, role, err)
	}
	if len(resp.Choices) == 0 {
		return "", fmt.Errorf("turn %d: %s: llm returned no choices", turn, role)
	}
	c := resp.Choices[0]
	text := c.Text
	if c.FinishReason == "stop" {
		text += c.StopString
	}
	pol := Segment{Source: Policy, Role: role, Turn: turn, Text: text, TokenIDs: c.TokenIDs}
	if len(c.Logprobs) == len(c.TokenIDs) {
		pol.Logprobs = c.Logprobs
	}
	s.ep.Context = append(s.ep.Context, envSeg, pol)
	out := len(c.TokenIDs)
	if out == 0 {
		out = resp.Usage.CompletionTokens
	}
	s.ep.Ledger.CompletionTokens += out
	s.ep.Ledger.PromptTokens += resp.Usage.PromptTokens
	t := Turn{Index: turn, Role: role, Completion: text, FinishReason: c.FinishReason, PromptTokens: resp.Usage.PromptTokens, OutTokens: out, Duration: time.Since(start)}
	s.finishTurn(&t)
	return c.Text, nil
}

func fill(tmpl string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(tmpl)
}

// runPipeline is MMOA-RAG's cooperative pipeline: the rewriter turns the
// question into sub-queries, each is retrieved, the selector picks the
// useful documents, and the generator answers from them.
func (s *state) runPipeline(ctx context.Context, q Question) error {
	p := s.r.Preset
	rw, ok := p.Roles[RoleRewriter]
	if !ok {
		return fmt.Errorf("pipeline preset %s needs a rewriter role", p.Name)
	}
	out, err := s.roleGenerate(ctx, RoleRewriter, rw, fill(rw.Prompt, "{question}", q.Text), 0)
	if err != nil {
		return err
	}
	queries := subQueries(out, 4)
	if len(queries) == 0 {
		s.ep.FormatErrors++
		queries = []string{q.Text} // the retriever still gets the question
	}
	for _, sq := range queries {
		if _, err := s.search(ctx, 0, sq); err != nil {
			return err
		}
	}
	docs := formatCandidates(s.shown, s.r.tags().Escape)
	selected := s.shown
	if sel, ok := p.Roles[RoleSelector]; ok {
		out, err := s.roleGenerate(ctx, RoleSelector, sel, fill(sel.Prompt, "{question}", q.Text, "{documents}", docs), 1)
		if err != nil {
			return err
		}
		idx, perr := selectedDocs(out, len(s.shown))
		if perr != nil {
			s.ep.FormatErrors++
		} else {
			selected = selected[:0:0]
			for _, i := range idx {
				selected = append(selected, s.shown[i])
				s.ep.Evidence = append(s.ep.Evidence, s.shown[i].Passage.ID)
			}
		}
	}
	gen, ok := p.Roles[RoleGenerator]
	if !ok {
		return fmt.Errorf("pipeline preset %s needs a generator role", p.Name)
	}
	out, err = s.roleGenerate(ctx, RoleGenerator, gen, fill(gen.Prompt, "{question}", q.Text, "{documents}", formatDocs(selected, 1, s.p)), 2)
	if err != nil {
		return err
	}
	// The generator's prompt may open <answer> itself, so its text is the
	// answer up to the stop; or it writes the whole block.
	ans, aerr := strings.TrimSpace(out), error(nil)
	if strings.Contains(out, openTag(p.Tags.Answer)) {
		if !strings.Contains(out, closeTag(p.Tags.Answer)) {
			out += closeTag(p.Tags.Answer)
		}
		ans, _, aerr = block(out, p.Tags.Answer)
	}
	if aerr != nil || ans == "" {
		s.ep.FormatErrors++
		s.ep.Status, s.ep.Reason = FormatError, "generator gave no answer"
		return nil
	}
	s.ep.Answer, s.ep.Status = ans, Answered
	return nil
}

// subQueries reads one query per line (numbering and bullets stripped).
func subQueries(text string, limit int) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "-*0123456789.) "))
		if line != "" && len(out) < limit {
			out = append(out, line)
		}
	}
	return out
}

// formatCandidates renders passages as MMOA's selector sees them:
// "Document0: Title: text".
func formatCandidates(hits []searchHit, esc func(string) string) string {
	var b strings.Builder
	for i, h := range hits {
		fmt.Fprintf(&b, "Document%d: %s: %s\n", i, esc(h.Passage.Title), esc(h.Passage.Text))
	}
	return b.String()
}

var docRef = regexp.MustCompile(`Document\s*(\d+)`)

// selectedDocs parses "Document0,Document3" into indices below n, in
// order, without repeats.
func selectedDocs(text string, n int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, m := range docRef.FindAllStringSubmatch(text, -1) {
		i, err := strconv.Atoi(m[1])
		if err != nil || i >= n {
			return nil, fmt.Errorf("selector named %q, outside the %d candidates", m[0], n)
		}
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("selector named no document")
	}
	return out, nil
}
