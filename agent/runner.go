package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
)

// Runner runs episodes of one preset with one policy. It is safe for
// concurrent use: RunMany runs many episodes at once.
type Runner struct {
	Preset Preset
	Policy llm.Client
	// Tools by name; "search" is required by tags and rag presets.
	Tools map[string]Tool
	// Clients gives a role its own model endpoint (IM-RAG's refiner, MMOA's
	// agents); roles without one use Policy.
	Clients map[string]llm.Client
	// Seed, when set, seeds each episode's sampling with Seed+episode index.
	Seed *int64
	// Screener judges retrieved text when the preset guards; nil uses the
	// guard package's rules (set guard.LLM to add a classifier model).
	Screener guard.Screener
	// OnEvent, when set, receives each turn and tool call as it happens
	// (for live traces); it must not block for long.
	OnEvent func(Event)

	parserOnce sync.Once
	parser     *tagParser
}

// Event is one step of a running episode, for live display.
type Event struct {
	Episode string
	Turn    *Turn     // a finished policy turn
	Call    *ToolCall // a finished tool call
	Done    *Episode  // the finished episode
}

// Question is one episode's input.
type Question struct {
	ID   string
	Text string
}

func (r *Runner) tags() *tagParser {
	r.parserOnce.Do(func() { r.parser = newTagParser(r.Preset.Tags, r.Preset.Budget.MaxQueryBytes) })
	return r.parser
}

// RunMany runs every question with at most concurrency episodes at once
// and returns the episodes in question order. An episode that fails is
// recorded as failed; only a cancelled ctx stops the batch early.
func (r *Runner) RunMany(ctx context.Context, qs []Question, concurrency int) []*Episode {
	out := make([]*Episode, len(qs))
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for i, q := range qs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = r.Run(ctx, q, i)
		}()
	}
	wg.Wait()
	return out
}

// Run works one question to the end and returns its episode. It never
// returns nil; failures are recorded in the episode's Status and Reason.
func (r *Runner) Run(ctx context.Context, q Question, index int) *Episode {
	ep := &Episode{ID: q.ID, Question: q.Text, Preset: r.Preset.Name, Started: time.Now(),
		Context: make([]Segment, 0, 2*r.Preset.Budget.MaxTurns+2), Turns: make([]Turn, 0, r.Preset.Budget.MaxTurns)}
	ctx, cancel := context.WithTimeout(ctx, r.Preset.Budget.MaxWall)
	defer cancel()
	s := &state{r: r, ep: ep, seen: map[string]bool{}, index: index, tok: tokenizerOf(r.Policy)}
	err := s.run(ctx, q)
	ep.Ledger.Wall = time.Since(ep.Started)
	switch {
	case err == nil:
	case errors.Is(err, errBudget):
		ep.Status, ep.Reason = OverBudget, err.Error()
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && ep.Ledger.Wall >= r.Preset.Budget.MaxWall:
		ep.Status, ep.Reason = OverBudget, fmt.Sprintf("wall-time budget of %s exhausted", r.Preset.Budget.MaxWall)
	case ctx.Err() != nil:
		ep.Status, ep.Reason = Cancelled, err.Error()
	default:
		ep.Status, ep.Reason = Failed, err.Error()
	}
	if r.OnEvent != nil {
		r.OnEvent(Event{Episode: ep.ID, Done: ep})
	}
	return ep
}

var errBudget = errors.New("budget exhausted")

func tokenizerOf(c llm.Client) llm.Tokenizer {
	if t, ok := c.(llm.Tokenizer); ok {
		return t
	}
	return nil
}

// state is one episode in progress.
type state struct {
	r     *Runner
	ep    *Episode
	seen  map[string]bool
	index int
	tok   llm.Tokenizer
	calls []ToolCall
	// The main role's context so far, kept incrementally: text always, ids
	// while every segment has them (missingIDs once one does not).
	text       strings.Builder
	ids        []int
	missingIDs bool
	shown      []search.Hit // every passage shown to the policy: "Doc N" is shown[N-1], numbered across the episode so citations are unambiguous
}

// env appends an environment segment, tokenised locally when possible.
func (s *state) env(turn int, text string) {
	seg := Segment{Source: Env, Role: MainRole, Turn: turn, Text: text}
	if s.tok != nil {
		seg.TokenIDs = s.tok.Tokenize(text)
	}
	s.appendMain(seg)
}

// appendMain adds a segment of the main role's context.
func (s *state) appendMain(seg Segment) {
	s.ep.Context = append(s.ep.Context, seg)
	s.text.WriteString(seg.Text)
	if seg.TokenIDs == nil && seg.Text != "" {
		s.missingIDs = true
	}
	s.ids = append(s.ids, seg.TokenIDs...)
}

func (s *state) run(ctx context.Context, q Question) error {
	p := s.r.Preset
	if p.Mode == "pipeline" {
		return s.runPipeline(ctx, q)
	}
	prompt := strings.ReplaceAll(p.Prompt, "{question}", q.Text)
	if p.Mode == "rag" {
		obs, err := s.search(ctx, 0, q.Text)
		if err != nil {
			return err
		}
		prompt = strings.ReplaceAll(prompt, "{documents}", strings.TrimRight(obs, "\n"))
	}
	s.text.Grow(4 * len(prompt)) // observations usually follow: avoid regrowing turn by turn
	s.env(0, prompt)
	for turn := 0; ; turn++ {
		if err := s.checkBudget(); err != nil {
			return err
		}
		t, err := s.generate(ctx, turn)
		if err != nil {
			return err
		}
		a := s.r.tags().Parse(t.Completion)
		if p.Mode != "tags" && (a.Kind == "search" || a.Kind == "crop") {
			a.Kind, a.Error = "none", "this preset has no search tool"
		}
		if a.Kind != "answer" && a.Error == "" && t.FinishReason == "length" {
			a.Error = "the turn hit its token limit before an action"
		}
		for _, c := range a.Calls {
			if !s.hasTool(c.Tool) && a.Error == "" {
				a.Error = fmt.Sprintf("unknown tool %q", c.Tool)
			}
		}
		t.Action = a
		if a.Error != "" {
			s.ep.FormatErrors++
			if p.OnFormatError == "end" || p.Mode != "tags" {
				s.finishTurn(t)
				s.ep.Status, s.ep.Reason = FormatError, a.Error
				return nil
			}
			s.finishTurn(t)
			s.env(turn, p.FormatHint)
			continue
		}
		if a.Kind == "answer" {
			s.ep.Answer, s.ep.Evidence = a.Answer, s.resolveEvidence(a.Evidence)
			s.ep.Status = Answered
			s.finishTurn(t)
			return nil
		}
		before := len(s.calls)
		texts, err := s.callAll(ctx, turn, a.Calls)
		t.Calls = append(t.Calls, s.calls[before:]...)
		if err != nil {
			s.finishTurn(t)
			return err
		}
		s.finishTurn(t)
		if rf, ok := p.Roles["refiner"]; ok {
			refined, err := s.roleGenerate(ctx, "refiner", rf, fill(rf.Prompt, "{question}", q.Text, "{queries}", a.Query, "{documents}", strings.Join(texts, "")), turn)
			if err != nil {
				return err
			}
			texts = []string{s.r.tags().Escape(strings.TrimSpace(refined)) + "\n"}
		}
		s.env(turn, wrap(p.Observation, texts))
	}
}

// wrap places observation texts in the preset's template in one string.
func wrap(template string, texts []string) string {
	pre, post, _ := strings.Cut(template, "{observation}")
	n := len(pre) + len(post)
	for _, t := range texts {
		n += len(t)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(pre)
	for _, t := range texts {
		b.WriteString(t)
	}
	b.WriteString(post)
	return b.String()
}

func (s *state) hasTool(name string) bool {
	if mapped, ok := s.r.Preset.ToolNames[name]; ok {
		name = mapped
	}
	_, ok := s.r.Tools[name]
	return ok
}

func (s *state) finishTurn(t *Turn) {
	s.ep.Turns = append(s.ep.Turns, *t)
	if s.r.OnEvent != nil {
		s.r.OnEvent(Event{Episode: s.ep.ID, Turn: t})
	}
}

func (s *state) checkBudget() error {
	b, l := s.r.Preset.Budget, s.ep.Ledger
	switch {
	case l.Turns >= b.MaxTurns:
		return fmt.Errorf("%w: %d turns without an answer", errBudget, l.Turns)
	case l.CompletionTokens >= b.MaxTokens:
		return fmt.Errorf("%w: %d generated tokens", errBudget, l.CompletionTokens)
	case l.FetchedBytes >= b.MaxFetchedBytes:
		return fmt.Errorf("%w: %d bytes fetched", errBudget, l.FetchedBytes)
	}
	return nil
}

// generate runs one policy turn on the whole context so far.
func (s *state) generate(ctx context.Context, turn int) (*Turn, error) {
	p := s.r.Preset
	req := llm.Request{
		MaxTokens:   min(p.Budget.TurnTokens, p.Budget.MaxTokens-s.ep.Ledger.CompletionTokens),
		Temperature: p.Sampling.Temperature,
		TopP:        p.Sampling.TopP,
		TopK:        p.Sampling.TopK,
		Stop:        p.Tags.Stops(),
	}
	if s.r.Seed != nil {
		seed := *s.r.Seed + int64(s.index)*1000 + int64(turn)
		req.Seed = &seed
	}
	ids, allIDs := s.ids, !s.missingIDs
	if allIDs {
		req.PromptIDs = ids[:len(ids):len(ids)] // the backend may not append into our buffer
	} else {
		req.Prompt = s.text.String()
	}
	start := time.Now()
	resp, err := s.r.Policy.Generate(ctx, req)
	took := time.Since(start)
	s.ep.Ledger.LLMTime += took
	if err != nil {
		var inv *llm.InvalidRequestError
		if errors.As(err, &inv) && inv.ContextExceeded {
			return nil, fmt.Errorf("%w: %s", errBudget, inv.Msg)
		}
		var api *llm.APIError // vLLM, OpenAI and sleuth's server say so in a 400
		if errors.As(err, &api) && api.Status == 400 && contextFull(api.Message) {
			return nil, fmt.Errorf("%w: %s", errBudget, api.Message)
		}
		return nil, fmt.Errorf("turn %d: llm: %w", turn, err)
	}
	if len(resp.Choices) == 0 {
		return nil, fmt.Errorf("turn %d: llm returned no choices", turn)
	}
	if allIDs && len(resp.PromptIDs) > 0 && !slices.Equal(resp.PromptIDs, ids) {
		return nil, fmt.Errorf("turn %d: the backend saw other prompt tokens than the episode holds: %s", turn, tokenDiff(ids, resp.PromptIDs))
	}
	c := resp.Choices[0]
	text := c.Text
	if c.FinishReason == "stop" {
		text += stopOf(c, req.Stop)
	}
	seg := Segment{Source: Policy, Role: MainRole, Turn: turn, Text: text, TokenIDs: c.TokenIDs}
	if len(c.Logprobs) == len(c.TokenIDs) {
		seg.Logprobs = c.Logprobs
	}
	if seg.TokenIDs == nil && s.tok != nil && allIDs {
		return nil, fmt.Errorf("turn %d: backend returned no token ids; the episode cannot hold an exact token stream", turn)
	}
	s.appendMain(seg)
	out := len(c.TokenIDs)
	if out == 0 {
		out = resp.Usage.CompletionTokens
	}
	s.ep.Ledger.Turns++
	s.ep.Ledger.CompletionTokens += out
	s.ep.Ledger.PromptTokens += resp.Usage.PromptTokens
	return &Turn{Index: turn, Role: "policy", Completion: text, FinishReason: c.FinishReason, PromptTokens: resp.Usage.PromptTokens, OutTokens: out, Duration: took}, nil
}

// contextFull recognises servers' "prompt too long for the context"
// messages.
func contextFull(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "maximum context length") || strings.Contains(m, "context length") || strings.Contains(m, "no room in the model's context")
}

// stopOf returns the stop string that ended a choice: the backend's word
// when it gives one, else the stop whose opening tag is left unclosed.
func stopOf(c llm.Choice, stops []string) string {
	if c.StopString != "" {
		return c.StopString
	}
	best, at := "", -1
	for _, st := range stops {
		opener := "<" + strings.TrimPrefix(st, "</")
		if i := strings.LastIndex(c.Text, opener); i > at && !strings.Contains(c.Text[i:], st) {
			best, at = st, i
		}
	}
	return best
}

// tokenDiff shows where two token streams first part.
func tokenDiff(want, got []int) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(0, i-3)
	return fmt.Sprintf("first difference at token %d of %d/%d: episode %v, backend %v", i, len(want), len(got), want[lo:min(len(want), i+4)], got[lo:min(len(got), i+4)])
}

// search runs the search tool on query (rag mode's one retrieval).
func (s *state) search(ctx context.Context, turn int, query string) (string, error) {
	texts, err := s.callAll(ctx, turn, []Call{{Tool: "search", Input: query}})
	if err != nil {
		return "", err
	}
	return texts[0], nil
}

// invoked is one tool call's outcome before the episode records it.
type invoked struct {
	name string
	call Call
	obs  Observation
	err  error
	took time.Duration
}

// callAll runs a turn's tool calls concurrently (DeepResearcher sends
// several queries and URLs at once), then records them in order. It
// returns the observation text of each call recorded so far.
func (s *state) callAll(ctx context.Context, turn int, calls []Call) ([]string, error) {
	p := s.r.Preset
	if n := s.ep.Ledger.ToolCalls + len(calls); n > p.Budget.MaxToolCalls {
		return nil, fmt.Errorf("%w: %d tool calls", errBudget, n)
	}
	ivs := make([]invoked, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		name := c.Tool
		if mapped, ok := p.ToolNames[name]; ok {
			name = mapped
		}
		tool, ok := s.r.Tools[name]
		if !ok {
			return nil, fmt.Errorf("turn %d: the policy called tool %q, which this runner does not have", turn, c.Tool)
		}
		ivs[i] = invoked{name: name, call: Call{Tool: name, Input: c.Input, K: p.TopK, Args: c.Args, Question: s.ep.Question}}
		run := func() {
			start := time.Now()
			ivs[i].obs, ivs[i].err = tool.Call(ctx, ivs[i].call)
			ivs[i].took = time.Since(start)
		}
		if len(calls) == 1 {
			run() // the common case needs no goroutine
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	wg.Wait()
	var texts []string
	for _, iv := range ivs {
		text, err := s.record(ctx, turn, iv)
		if err != nil {
			return texts, err
		}
		texts = append(texts, text)
	}
	return texts, nil
}

// record adds one tool call to the episode and returns its observation
// text (guarded and escaped).
func (s *state) record(ctx context.Context, turn int, iv invoked) (string, error) {
	p := s.r.Preset
	name, query, obs, err, took := iv.name, iv.call.Input, iv.obs, iv.err, iv.took
	s.ep.Ledger.ToolTime += took
	s.ep.Ledger.ToolCalls++
	if name == "search" {
		s.ep.Ledger.Searches++
	}
	s.ep.Ledger.FetchedBytes += obs.Bytes
	s.ep.Ledger.Dollars += obs.Dollars
	if name == "search" {
		s.ep.Queries = append(s.ep.Queries, query)
	}
	call := ToolCall{Tool: name, Input: query, Duration: took, Log: obs.Log}
	if err != nil {
		call.Error = err.Error()
		s.calls = append(s.calls, call)
		return "", fmt.Errorf("turn %d: %w", turn, err)
	}
	shown := make([]search.Hit, 0, len(obs.Hits))
	call.Hits = make([]HitRef, 0, len(obs.Hits))
	for _, h := range obs.Hits {
		if p.Guard != guard.Off {
			h.Passage.Text = s.screen(ctx, &call, h.Passage.Text)
		}
		ref := HitRef{ID: h.Passage.ID, Title: h.Passage.Title, Score: h.Score, New: !s.seen[h.Passage.ID]}
		call.Hits = append(call.Hits, ref)
		if ref.New {
			s.seen[ref.ID] = true
			s.ep.Retrieved = append(s.ep.Retrieved, ref)
		}
		if ref.New || !p.DedupHits {
			shown = append(shown, h)
		}
	}
	first := len(s.shown) + 1
	s.shown = append(s.shown, shown...)
	text := obs.Text
	if text == "" {
		text = formatDocs(shown, first, s.r.tags().Escape)
		if len(shown) == 0 {
			text = "No new documents.\n"
		}
	} else {
		if p.Guard != guard.Off {
			text = s.screen(ctx, &call, text)
		}
		text = s.r.tags().Escape(text)
	}
	call.Observation = text
	s.calls = append(s.calls, call)
	if s.r.OnEvent != nil {
		s.r.OnEvent(Event{Episode: s.ep.ID, Call: &call})
	}
	return text, nil
}

// screen runs the guard over one untrusted text and rewrites it as the
// preset says, counting flags. A failing classifier falls back to rules.
func (s *state) screen(ctx context.Context, call *ToolCall, text string) string {
	var sc guard.Screener = guard.Rules{}
	if s.r.Screener != nil {
		sc = s.r.Screener
	}
	v, err := sc.Screen(ctx, text)
	if err != nil {
		v = guard.Screen(text)
	}
	if v.Flagged {
		call.Flagged++
		s.ep.Flagged++
	}
	return guard.Rewrite(s.r.Preset.Guard, text, v)
}

// resolveEvidence maps cited document numbers ("1", "Doc 2") to the ids of
// the passages shown, in the order shown; ids given directly are kept.
func (s *state) resolveEvidence(cited []string) []string {
	var out []string
	for _, c := range cited {
		c = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c, "Doc"), "doc"))
		var n int
		if _, err := fmt.Sscanf(c, "%d", &n); err == nil && fmt.Sprint(n) == c && n >= 1 && n <= len(s.shown) {
			out = append(out, s.shown[n-1].Passage.ID)
			continue
		}
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
