package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
)

// Runner runs episodes of one preset with one policy. It is safe for
// concurrent use, by RunMany and by callers running episodes at once with
// their own options (evaluation and RL on one runner): what differs per
// call (the seed, the event sink) is a RunOption, and what an episode
// keeps (its image memory among it) belongs to that episode. Set its
// fields before the first run and do not change them after.
type Runner struct {
	Preset Preset
	Policy llm.Client
	// Tools by name; "search" is required by tags and rag presets.
	Tools map[string]Tool
	// Clients gives a role its own model endpoint (IM-RAG's refiner, MMOA's
	// agents); roles without one use Policy.
	Clients map[string]llm.Client
	// Screener judges retrieved text when the preset guards; nil uses the
	// guard package's rules (set guard.LLM to add a classifier model).
	Screener guard.Screener

	parserOnce sync.Once
	parser     *tagParser
	// textHint is how many bytes of context text an episode reserves up
	// front, learnt from finished episodes (see noteTextLen).
	textHint atomic.Int64
	// scratch holds *scratch values between episodes.
	scratch sync.Pool
}

// scratch is an episode's working memory that its Episode does not keep,
// so the next episode may reuse it. It is cleared before reuse: nothing of
// one episode reaches another.
type scratch struct {
	docs  []string
	shown []search.Hit
	ivs   []invoked
	texts []string
}

func (r *Runner) getScratch() *scratch {
	if sc, ok := r.scratch.Get().(*scratch); ok {
		return sc
	}
	return &scratch{}
}

// putScratch clears what s used of sc and keeps it for another episode.
func (r *Runner) putScratch(sc *scratch, s *state) {
	clear(s.docs)
	clear(s.shown)
	clear(s.ivs)
	clear(s.texts)
	*sc = scratch{docs: s.docs[:0], shown: s.shown[:0], ivs: s.ivs[:0], texts: s.texts[:0]}
	r.scratch.Put(sc)
}

// Event is one step of a running episode, for live display. Its pointers
// refer to the episode's own records: read them, do not modify them.
type Event struct {
	Episode string
	Turn    *Turn     // a finished policy turn
	Call    *ToolCall // a finished tool call
	Done    *Episode  // the finished episode
}

// RunOption is a choice of one Run or RunMany call.
type RunOption func(*runOptions)

type runOptions struct {
	seed    *int64
	onEvent func(Event)
}

// WithSeed seeds each episode's sampling: turn t of the episode at index
// i samples with seed + 1000·i + t (its roles with 500 more).
func WithSeed(seed int64) RunOption {
	return func(o *runOptions) { o.seed = &seed }
}

// SeedFrom is WithSeed(*seed), or no seed when seed is nil.
func SeedFrom(seed *int64) RunOption {
	return func(o *runOptions) {
		if seed != nil {
			s := *seed
			o.seed = &s
		}
	}
}

// WithEvents sends each turn, tool call and finished episode to f as it
// happens (live traces, progress). RunMany calls f from its workers at
// once: f must be safe for concurrent use and must not block for long.
func WithEvents(f func(Event)) RunOption {
	return func(o *runOptions) { o.onEvent = f }
}

func runOptionsOf(opts []RunOption) runOptions {
	var o runOptions
	for _, f := range opts {
		f(&o)
	}
	return o
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
// recorded as failed; only a cancelled ctx stops the batch early. Its
// goroutines have all exited when it returns.
func (r *Runner) RunMany(ctx context.Context, qs []Question, concurrency int, opts ...RunOption) []*Episode {
	o := runOptionsOf(opts)
	out := make([]*Episode, len(qs))
	var next atomic.Int64
	var wg sync.WaitGroup
	// A fixed set of workers, not a goroutine per episode: each keeps the
	// stack it has grown, and starting one costs nothing per episode.
	for range min(max(concurrency, 1), len(qs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(qs) {
					return
				}
				out[i] = r.run(ctx, qs[i], i, &o)
			}
		})
	}
	wg.Wait()
	return out
}

// Run works one question to the end and returns its episode; index
// numbers it for seeds (see WithSeed). It never returns nil; failures are
// recorded in the episode's Status and Reason.
func (r *Runner) Run(ctx context.Context, q Question, index int, opts ...RunOption) *Episode {
	o := runOptionsOf(opts)
	return r.run(ctx, q, index, &o)
}

func (r *Runner) run(ctx context.Context, q Question, index int, o *runOptions) *Episode {
	ep := &Episode{ID: q.ID, Question: q.Text, Preset: r.Preset.Name, Started: time.Now(),
		Context: make([]Segment, 0, 2*r.Preset.Budget.MaxTurns+2), Turns: make([]Turn, 0, r.Preset.Budget.MaxTurns)}
	ctx, cancel := context.WithTimeout(ctx, r.Preset.Budget.MaxWall)
	defer cancel()
	sc := r.getScratch()
	s := &state{r: r, p: r.tags(), ep: ep, index: index, tok: tokenizerOf(r.Policy), runOptions: *o,
		images: r.imageMemory(ep), // VRAG: the episode's images for crop and image chat; nil without image tools (images.go)
		docs:   sc.docs, shown: sc.shown, ivs: sc.ivs, texts: sc.texts}
	err := s.run(ctx, q)
	ep.Ledger.Wall = time.Since(ep.Started)
	r.noteTextLen(s.text.Len())
	r.putScratch(sc, s)
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
	if o.onEvent != nil {
		o.onEvent(Event{Episode: ep.ID, Done: ep})
	}
	return ep
}

var errBudget = errors.New("budget exhausted")

// noteTextLen feeds a finished episode's context length into textHint. The
// hint rises fast and falls slowly, with some headroom, so that a typical
// episode's context text is one allocation that never regrows; an outlier
// only inflates it for a while, and the cap bounds what one reserves.
func (r *Runner) noteTextLen(n int) {
	const maxHint = 1 << 20
	h := r.textHint.Load()
	want := min(int64(n)+int64(n)/8, maxHint)
	if want > h {
		h += (want - h + 1) / 2
	} else {
		h -= (h - want) / 64
	}
	r.textHint.Store(h)
}

// reserve sizes the context text, and the token ids when there are any,
// for a whole episode whose prompt is about promptLen bytes.
func (s *state) reserve(promptLen int) {
	n := max(int(s.r.textHint.Load()), 4*promptLen) // observations usually follow the prompt
	s.text.Grow(n)
	if s.tok != nil {
		s.ids = make([]int, 0, n/3) // a few bytes a token
	}
}

// reserveFor returns list, made with room for n items when it has none, so
// the lists an episode grows call by call are allocated once.
func reserveFor[T any](list []T, n int) []T {
	if cap(list) == 0 {
		return make([]T, 0, max(n, 1))
	}
	return list
}

func tokenizerOf(c llm.Client) llm.Tokenizer {
	if t, ok := c.(llm.Tokenizer); ok {
		return t
	}
	return nil
}

// state is one episode in progress.
type state struct {
	r     *Runner
	p     *tagParser
	ep    *Episode
	seen  map[string]bool // ids in ep.Retrieved, built once that list is too long to scan
	index int
	tok   llm.Tokenizer
	runOptions
	images *imageMemory // nil unless the runner has image tools
	calls  []ToolCall
	// The main role's context so far, kept incrementally: text always, ids
	// while every segment has them (missingIDs once one does not). The
	// main role's segments, turns and tool calls hold substrings of text
	// rather than copies: a strings.Builder never changes bytes once
	// written, so they stay valid as it grows.
	text       strings.Builder
	ids        []int
	missingIDs bool
	refs       []HitRef // backing store of the tool calls' Hits
	spareRefs  []HitRef // room for ep.Retrieved, allocated with refs
	// Scratch (see Runner.scratch):
	docs  []string     // the id of every passage shown to the policy: "Doc N" is docs[N-1], numbered across the episode so citations are unambiguous
	shown []search.Hit // the passages themselves, kept in pipeline mode only (its selector and generator read them again)
	ivs   []invoked    // callAll's calls in flight, reused turn by turn
	texts []string     // callAll's result
}

// clock is the monotonic time since the episode started: cheaper to read
// than time.Now, which also reads the wall clock.
func (s *state) clock() time.Duration { return time.Since(s.ep.Started) }

// env appends an environment segment, tokenised locally when possible.
func (s *state) env(turn int, text string) {
	at := s.text.Len()
	s.text.WriteString(text)
	s.envSince(turn, at)
}

// envSince makes the context text written since offset at one environment
// segment, tokenised locally when possible: only the new text is
// tokenised, never the context before it.
func (s *state) envSince(turn, at int) {
	seg := Segment{Source: Env, Role: MainRole, Turn: turn, Text: s.text.String()[at:]}
	if s.tok != nil {
		seg.TokenIDs = s.tok.Tokenize(seg.Text)
	}
	s.addMain(seg)
}

// addMain adds a segment of the main role's context whose text is already
// in s.text.
func (s *state) addMain(seg Segment) {
	s.ep.Context = append(s.ep.Context, seg)
	if seg.TokenIDs == nil && seg.Text != "" {
		s.missingIDs = true
	}
	s.ids = append(s.ids, seg.TokenIDs...)
}

// writeReplaced writes tmpl to b with every old replaced by new, as
// strings.ReplaceAll would, without building the string first.
func writeReplaced(b *strings.Builder, tmpl, old, new string) {
	if old == "" {
		b.WriteString(strings.ReplaceAll(tmpl, old, new))
		return
	}
	for {
		i := strings.Index(tmpl, old)
		if i < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		b.WriteString(new)
		tmpl = tmpl[i+len(old):]
	}
	b.WriteString(tmpl)
}

func (s *state) run(ctx context.Context, q Question) error {
	p := &s.r.Preset // a pointer: the Preset is large to copy
	if p.Mode == ModePipeline {
		return s.runPipeline(ctx, q)
	}
	s.reserve(len(p.Prompt) + len(q.Text))
	if p.Mode == ModeRAG {
		prompt := strings.ReplaceAll(p.Prompt, "{question}", q.Text)
		obs, err := s.search(ctx, 0, q.Text)
		if err != nil {
			return err
		}
		s.env(0, strings.ReplaceAll(prompt, "{documents}", strings.TrimRight(obs, "\n")))
	} else {
		writeReplaced(&s.text, p.Prompt, "{question}", q.Text)
		s.envSince(0, 0)
	}
	for turn := 0; ; turn++ {
		if err := s.checkBudget(); err != nil {
			return err
		}
		t, err := s.generate(ctx, turn)
		if err != nil {
			return err
		}
		a := s.p.Parse(t.Completion)
		if p.Mode != ModeTags && (a.Kind == ActionSearch || a.Kind == ActionCrop) {
			a.Kind, a.Error = ActionNone, "this preset has no search tool"
		}
		if a.Kind != ActionAnswer && a.Error == "" && t.FinishReason == "length" {
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
			if p.OnFormatError == "end" || p.Mode != ModeTags {
				s.finishTurn(&t)
				s.ep.Status, s.ep.Reason = FormatError, a.Error
				return nil
			}
			s.finishTurn(&t)
			s.env(turn, p.FormatHint)
			continue
		}
		if a.Kind == ActionAnswer {
			s.ep.Answer, s.ep.Evidence = a.Answer, s.resolveEvidence(a.Evidence)
			s.ep.Status = Answered
			s.finishTurn(&t)
			return nil
		}
		if err := s.observe(ctx, q, turn, &t); err != nil {
			return err
		}
	}
}

// observe runs a turn's tool calls, records the turn, and appends what
// they returned to the context as one environment segment, the preset's
// observation template around it. Without a refiner each observation is
// written straight into the context text, once.
func (s *state) observe(ctx context.Context, q Question, turn int, t *Turn) error {
	p := &s.r.Preset
	a := &t.Action
	before, at := len(s.calls), s.text.Len()
	rf, refine := p.Roles[RoleRefiner]
	dst := &s.text
	pre, post, _ := strings.Cut(p.Observation, "{observation}")
	if refine {
		dst = nil // the refiner reads the observations first
	} else {
		s.text.WriteString(pre)
	}
	texts, err := s.callAll(ctx, turn, a.Calls, dst)
	if len(s.calls) > before {
		t.Calls = s.calls[before:len(s.calls):len(s.calls)] // the turn's share of the episode's calls, not a copy
	}
	s.finishTurn(t)
	if err != nil {
		return err // the half-written observation is never shown: the episode ends here
	}
	if refine {
		refined, err := s.roleGenerate(ctx, RoleRefiner, rf, fill(rf.Prompt, "{question}", q.Text, "{queries}", a.Query, "{documents}", strings.Join(texts, "")), turn)
		if err != nil {
			return err
		}
		s.env(turn, wrap(p.Observation, []string{s.p.Escape(strings.TrimSpace(refined)) + "\n"}))
		return nil
	}
	s.text.WriteString(post)
	s.envSince(turn, at)
	return nil
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
	if s.onEvent != nil {
		s.onEvent(Event{Episode: s.ep.ID, Turn: &s.ep.Turns[len(s.ep.Turns)-1]})
	}
}

func (s *state) checkBudget() error {
	b, l := &s.r.Preset.Budget, &s.ep.Ledger
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
func (s *state) generate(ctx context.Context, turn int) (Turn, error) {
	p := &s.r.Preset
	req := llm.Request{
		MaxTokens:   min(p.Budget.TurnTokens, p.Budget.MaxTokens-s.ep.Ledger.CompletionTokens),
		Temperature: p.Sampling.Temperature,
		TopP:        p.Sampling.TopP,
		TopK:        p.Sampling.TopK,
		Stop:        s.p.Stops(),
	}
	if s.seed != nil {
		seed := *s.seed + int64(s.index)*1000 + int64(turn)
		req.Seed = &seed
	}
	ids, allIDs := s.ids, !s.missingIDs
	if ic, ok := s.r.Policy.(ImageChat); ok && s.images != nil {
		msgs, err := s.images.messages(ic.Format)
		if err != nil {
			return Turn{}, fmt.Errorf("turn %d: %w", turn, err)
		}
		req.Messages = msgs
	} else if allIDs {
		req.PromptIDs = ids[:len(ids):len(ids)] // the backend may not append into our buffer
	} else {
		req.Prompt = s.text.String()
	}
	start := s.clock()
	resp, err := s.r.Policy.Generate(ctx, req)
	took := s.clock() - start
	s.ep.Ledger.LLMTime += took
	if err != nil {
		var inv *llm.InvalidRequestError
		if errors.As(err, &inv) && inv.ContextExceeded {
			return Turn{}, fmt.Errorf("%w: %s", errBudget, inv.Msg)
		}
		var api *llm.APIError // vLLM, OpenAI and sleuth's server say so in a 400
		if errors.As(err, &api) && api.Status == 400 && contextFull(api.Message) {
			return Turn{}, fmt.Errorf("%w: %s", errBudget, api.Message)
		}
		return Turn{}, fmt.Errorf("turn %d: llm: %w", turn, err)
	}
	if len(resp.Choices) == 0 {
		return Turn{}, fmt.Errorf("turn %d: llm returned no choices", turn)
	}
	if allIDs && len(resp.PromptIDs) > 0 && !slices.Equal(resp.PromptIDs, ids) {
		return Turn{}, fmt.Errorf("turn %d: the backend saw other prompt tokens than the episode holds: %s", turn, tokenDiff(ids, resp.PromptIDs))
	}
	c := resp.Choices[0]
	if c.TokenIDs == nil && s.tok != nil && allIDs {
		return Turn{}, fmt.Errorf("turn %d: backend returned no token ids; the episode cannot hold an exact token stream", turn)
	}
	// The completion goes into the context text once; the segment and the
	// turn share it.
	at := s.text.Len()
	s.text.WriteString(c.Text)
	if c.FinishReason == "stop" {
		s.text.WriteString(stopOf(c, req.Stop))
	}
	text := s.text.String()[at:]
	seg := Segment{Source: Policy, Role: MainRole, Turn: turn, Text: text, TokenIDs: c.TokenIDs}
	if len(c.Logprobs) == len(c.TokenIDs) {
		seg.Logprobs = c.Logprobs
	}
	s.addMain(seg)
	out := len(c.TokenIDs)
	if out == 0 {
		out = resp.Usage.CompletionTokens
	}
	s.ep.Ledger.Turns++
	s.ep.Ledger.CompletionTokens += out
	s.ep.Ledger.PromptTokens += resp.Usage.PromptTokens
	return Turn{Index: turn, Role: "policy", Completion: text, FinishReason: c.FinishReason, PromptTokens: resp.Usage.PromptTokens, OutTokens: out, Duration: took}, nil
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
	texts, err := s.callAll(ctx, turn, []Call{{Tool: ToolSearch, Input: query}}, nil)
	if err != nil {
		return "", err
	}
	return texts[0], nil
}

// invoked is one tool call's outcome before the episode records it.
type invoked struct {
	name   string
	tool   Tool
	call   Call
	images *imageMemory // the episode's, for tools that show images
	obs    Observation
	err    error
	took   time.Duration
}

// invoke makes the call and times it on the monotonic clock since t0.
func (iv *invoked) invoke(ctx context.Context, t0 time.Time) {
	start := time.Since(t0)
	if it, ok := iv.tool.(imageTool); ok {
		iv.obs, iv.err = it.callShowing(ctx, iv.call, iv.images)
	} else {
		iv.obs, iv.err = iv.tool.Call(ctx, iv.call)
	}
	iv.took = time.Since(t0) - start
}

// callAll runs a turn's tool calls concurrently (DeepResearcher sends
// several queries and URLs at once), then records them in order. Each
// observation is written to dst when it is set (the context itself), else
// built apart. It returns the observation text of each call recorded so
// far; the slice is reused by the next call.
func (s *state) callAll(ctx context.Context, turn int, calls []Call, dst *strings.Builder) ([]string, error) {
	if n := s.ep.Ledger.ToolCalls + len(calls); n > s.r.Preset.Budget.MaxToolCalls {
		return nil, fmt.Errorf("%w: %d tool calls", errBudget, n)
	}
	s.texts = s.texts[:0]
	if len(calls) == 1 {
		// The common case: no goroutine, and the call's bookkeeping stays
		// on the stack.
		iv, err := s.resolve(turn, calls[0])
		if err != nil {
			return nil, err
		}
		iv.invoke(ctx, s.ep.Started)
		text, err := s.record(ctx, turn, &iv, dst)
		if err != nil {
			return s.texts, err
		}
		s.texts = append(s.texts, text)
		return s.texts, nil
	}
	ivs := slices.Grow(s.ivs[:0], len(calls))[:len(calls)]
	s.ivs = ivs
	for i, c := range calls {
		iv, err := s.resolve(turn, c)
		if err != nil {
			return nil, err
		}
		ivs[i] = iv
	}
	var wg sync.WaitGroup
	for i := range ivs {
		wg.Go(func() { ivs[i].invoke(ctx, s.ep.Started) })
	}
	wg.Wait()
	for i := range ivs {
		text, err := s.record(ctx, turn, &ivs[i], dst)
		ivs[i] = invoked{} // hold no results past the turn
		if err != nil {
			return s.texts, err
		}
		s.texts = append(s.texts, text)
	}
	return s.texts, nil
}

// resolve finds the tool a call names and fills in the call as the tool
// receives it.
func (s *state) resolve(turn int, c Call) (invoked, error) {
	p := &s.r.Preset
	name := c.Tool
	if mapped, ok := p.ToolNames[name]; ok {
		name = mapped
	}
	tool, ok := s.r.Tools[name]
	if !ok {
		return invoked{}, fmt.Errorf("turn %d: the policy called tool %q, which this runner does not have", turn, c.Tool)
	}
	return invoked{name: name, tool: tool, call: Call{Tool: name, Input: c.Input, K: p.TopK, Args: c.Args, Question: s.ep.Question}, images: s.images}, nil
}

// record adds one tool call to the episode and returns its observation
// text (guarded and escaped), written to dst when that is set.
func (s *state) record(ctx context.Context, turn int, iv *invoked, dst *strings.Builder) (string, error) {
	p := &s.r.Preset
	name, query, obs, err, took := iv.name, iv.call.Input, iv.obs, iv.err, iv.took
	s.ep.Ledger.ToolTime += took
	s.ep.Ledger.ToolCalls++
	if name == ToolSearch {
		s.ep.Ledger.Searches++
	}
	s.ep.Ledger.FetchedBytes += obs.Bytes
	s.ep.Ledger.Dollars += obs.Dollars
	calls := min(p.Budget.MaxToolCalls, 16)
	hits := min(calls*p.TopK, 64)
	if name == ToolSearch {
		s.ep.Queries = append(reserveFor(s.ep.Queries, calls), query)
	}
	call := ToolCall{Tool: name, Input: query, Duration: took, Log: obs.Log, Flagged: obs.Flagged}
	s.ep.Flagged += obs.Flagged
	s.calls = reserveFor(s.calls, calls)
	if err != nil {
		call.Error = err.Error()
		s.calls = append(s.calls, call)
		return "", fmt.Errorf("turn %d: %w", turn, err)
	}
	if cap(s.refs) == 0 {
		buf := make([]HitRef, 2*hits) // refs and Retrieved in one allocation
		s.refs, s.spareRefs = buf[:0:hits], buf[hits:hits:2*hits]
	}
	s.docs = reserveFor(s.docs, hits)
	from, shown := len(s.refs), 0
	var own strings.Builder
	w := dst
	if w == nil {
		w = &own
	}
	at := w.Len()
	for _, h := range obs.Hits {
		if p.Guard != guard.Off {
			h.Passage = s.screenPassage(ctx, &call, h.Passage)
		}
		ref := HitRef{ID: h.Passage.ID, Title: h.Passage.Title, Score: h.Score, New: s.firstSight(h.Passage.ID)}
		s.refs = append(s.refs, ref)
		if ref.New {
			if s.ep.Retrieved == nil {
				s.ep.Retrieved = s.spareRefs
			}
			s.ep.Retrieved = append(s.ep.Retrieved, ref)
		}
		if !ref.New && p.DedupHits {
			continue
		}
		shown++
		s.docs = append(s.docs, h.Passage.ID)
		if p.Mode == ModePipeline {
			s.shown = append(s.shown, h)
		}
		if obs.Text == "" {
			writeDoc(w, h, len(s.docs), s.p) // straight from the hit: no copy of it is kept
		}
	}
	call.Hits = s.refs[from:len(s.refs):len(s.refs)]
	switch {
	case obs.Text != "":
		text := obs.Text
		if p.Guard != guard.Off {
			text = s.screen(ctx, &call, text)
		}
		s.p.EscapeTo(w, text)
	case shown == 0:
		w.WriteString("No new documents.\n")
	}
	call.Observation = w.String()[at:]
	s.calls = append(s.calls, call)
	if s.onEvent != nil {
		s.onEvent(Event{Episode: s.ep.ID, Call: &s.calls[len(s.calls)-1]})
	}
	return call.Observation, nil
}

// firstSight reports whether passage id is new to the episode. The caller
// adds a new one to ep.Retrieved. A few dozen ids are scanned faster than
// a map is built; longer episodes get the map.
func (s *state) firstSight(id string) bool {
	if s.seen == nil {
		for _, r := range s.ep.Retrieved {
			if r.ID == id {
				return false
			}
		}
		if len(s.ep.Retrieved) < 32 {
			return true
		}
		s.seen = make(map[string]bool, 2*len(s.ep.Retrieved))
		for _, r := range s.ep.Retrieved {
			s.seen[r.ID] = true
		}
	}
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}

// writeDocs writes hits to b as Search-R1 shows them ("Doc 1(Title: …)
// text"), numbering from first and escaping every passage.
func writeDocs(b *strings.Builder, hits []search.Hit, first int, p *tagParser) {
	for i, h := range hits {
		writeDoc(b, h, first+i, p)
	}
}

// writeDoc writes one hit as "Doc n(Title: …) text". Web results also
// show their URL, so the agent can browse it.
func writeDoc(b *strings.Builder, h search.Hit, n int, p *tagParser) {
	u := h.Passage.Meta["url"]
	b.Grow(len(h.Passage.Title) + len(h.Passage.Text) + len(u) + 32)
	var num [20]byte
	b.WriteString("Doc ")
	b.Write(strconv.AppendInt(num[:0], int64(n), 10))
	b.WriteString("(Title: ")
	p.EscapeTo(b, h.Passage.Title)
	if u != "" {
		b.WriteString(", URL: ")
		p.EscapeTo(b, u)
	}
	b.WriteString(") ")
	p.EscapeTo(b, h.Passage.Text)
	b.WriteByte('\n')
}

// screen runs the guard over one untrusted text and rewrites it as the
// preset says, counting flags: the text is shown without its invisible
// characters. A failing classifier falls back to rules.
func (s *state) screen(ctx context.Context, call *ToolCall, text string) string {
	v := s.verdict(ctx, text)
	if v.Flagged {
		call.Flagged++
		s.ep.Flagged++
	}
	return guard.Rewrite(s.r.Preset.Guard, guard.Clean(text), v)
}

// screenPassage screens a hit's title, URL and text (a web result's
// snippet) as one text, so an injection split across them is seen whole;
// all three are shown cleaned, and when the preset drops flagged text the
// title goes too.
func (s *state) screenPassage(ctx context.Context, call *ToolCall, p corpus.Passage) corpus.Passage {
	u := p.Meta["url"]
	v := s.verdict(ctx, p.Title+"\n"+u+"\n"+p.Text)
	if v.Flagged {
		call.Flagged++
		s.ep.Flagged++
	}
	mode := s.r.Preset.Guard
	p.Text = guard.Rewrite(mode, guard.Clean(p.Text), v)
	p.Title = guard.Clean(p.Title)
	if v.Flagged && mode == guard.Drop {
		p.Title = "[withheld]"
	}
	if c := guard.Clean(u); c != u || (v.Flagged && mode == guard.Drop) {
		m := make(map[string]string, len(p.Meta))
		for k, x := range p.Meta {
			m[k] = x
		}
		m["url"] = c
		if v.Flagged && mode == guard.Drop {
			delete(m, "url")
		}
		p.Meta = m
	}
	return p
}

// verdict asks the runner's screener (the guard's rules by default).
func (s *state) verdict(ctx context.Context, text string) guard.Verdict {
	return guard.Check(ctx, s.r.Screener, text)
}

// resolveEvidence maps cited document numbers ("1", "Doc 2") to the ids of
// the passages shown, in the order shown; ids given directly are kept.
func (s *state) resolveEvidence(cited []string) []string {
	var out []string
	for _, c := range cited {
		c = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c, "Doc"), "doc"))
		if n, err := strconv.Atoi(c); err == nil && strconv.Itoa(n) == c && n >= 1 && n <= len(s.docs) {
			out = append(out, s.docs[n-1])
			continue
		}
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
