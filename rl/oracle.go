package rl

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/world"
)

// Oracle is a policy that knows the answers: for a world question it
// plays the shortest correct path in its preset's protocol (Protocol):
// in tags mode one search per hop, with the hop's own query, then the
// answer; in rag mode (ARENA) one structured answer citing the documents
// that state the chain's facts. Its roles (Role, Clients) write the other
// agents' turns: IM-RAG's refiner condenses a search's documents to the
// sentence that states the hop's fact. Run through agent.Runner against
// the real index, it writes the SFT demonstrations, with the same token
// segments and loss masks as RL episodes.
//
// It implements llm.Client and llm.Tokenizer; Encode must be the trained
// model's tokenizer, so the traces are exact token streams for it. It is
// safe for concurrent use.
type Oracle struct {
	Protocol Protocol
	Encode   func(text string) []int
	Decode   func(ids []int) string
	// Pages finds the pages a VRAG search shows (a preset with a region
	// tag): the oracle crops the lines that state each hop's fact.
	Pages PageSource
	// Browse says the runner has the preset's browse tool (a fetcher over
	// the simulated web): a tool-call preset's teacher then opens the
	// subject's page after each web search (DeepResearcher); without it,
	// it only searches.
	Browse bool

	mu    sync.Mutex
	byKey map[string]world.Question
}

// NewOracle prepares an oracle for questions in preset p's protocol.
func NewOracle(p agent.Preset, qs []world.Question, encode func(string) []int, decode func([]int) string) *Oracle {
	o := &Oracle{Protocol: ProtocolOf(p), Encode: encode, Decode: decode, byKey: map[string]world.Question{}}
	for _, q := range qs {
		o.byKey[q.Question] = q
	}
	return o
}

// Tokenize implements llm.Tokenizer.
func (o *Oracle) Tokenize(text string) []int { return o.Encode(text) }

// Generate implements llm.Client for the main role: it finds the question
// in the prompt, counts the observations so far, and writes the next step.
func (o *Oracle) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	prompt := o.prompt(req)
	pr := o.Protocol
	q, ok := o.question(prompt, pr.question)
	if !ok {
		return llm.Response{}, fmt.Errorf("oracle: no known question in the prompt")
	}
	var text string
	switch pr.mode {
	case agent.ModeTags:
		if pr.obsOpen == "" {
			return llm.Response{}, fmt.Errorf("oracle: the preset's observation template starts with {observation}, so its observations cannot be counted")
		}
		if o.Browse && pr.tags.ToolCall != "" {
			text = pr.webStep(q, prompt)
			break
		}
		if pr.tags.Region != "" {
			var err error
			if text, err = o.vragStep(ctx, q, prompt); err != nil {
				return llm.Response{}, err
			}
			break
		}
		text = pr.Step(q, strings.Count(prompt, pr.obsOpen), pr.lastInformation(prompt))
	case agent.ModeRAG:
		text = pr.Structured(q, docsIn(prompt))
	case agent.ModeDirect:
		text = pr.Step(q, len(q.Chain), "")
	default:
		return llm.Response{}, fmt.Errorf("oracle: a %s preset is played by its roles, not the main policy", pr.mode)
	}
	return o.reply(req, text), nil
}

// Clients are the oracle's role players, one per role of its preset, for
// agent.Runner.Clients (nil for a preset without roles).
func (o *Oracle) Clients() map[string]llm.Client {
	if len(o.Protocol.roles) == 0 {
		return nil
	}
	out := make(map[string]llm.Client, len(o.Protocol.roles))
	for name := range o.Protocol.roles {
		out[name] = o.Role(name)
	}
	return out
}

// Role is the oracle playing the preset's role name.
func (o *Oracle) Role(name string) llm.Client { return roleOracle{o, name} }

type roleOracle struct {
	o    *Oracle
	role string
}

func (r roleOracle) Tokenize(text string) []int { return r.o.Encode(text) }

// Generate writes the role's turn. IM-RAG's refiner condenses the
// documents to the sentence that states the searched hop's fact (nothing
// when none does). MMOA's rewriter writes each hop's query, one a line
// (a later hop's query names the entity the hop before finds, which the
// rewriter cannot know: its recipe trains on 1-hop questions); the
// selector names the candidates that state the chain's facts; the
// generator writes the answer after the prompt's opening answer tag.
func (r roleOracle) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	prompt := r.o.prompt(req)
	pr := r.o.Protocol
	rp := pr.roles[r.role]
	q, ok := r.o.question(prompt, rp.question)
	if !ok {
		return llm.Response{}, fmt.Errorf("oracle %s: no known question in the prompt", r.role)
	}
	var text string
	switch r.role {
	case agent.RoleRefiner:
		query, _ := rp.queries.in(prompt)
		text = refine(q, strings.TrimSpace(query), docsIn(prompt))
	case agent.RoleRewriter:
		var b strings.Builder
		for _, h := range q.Chain {
			b.WriteString(h.Query + "\n")
		}
		text = b.String()
	case agent.RoleSelector:
		var names []string
		cands := candidatesIn(prompt)
		for _, h := range q.Chain {
			if d, ok := stating(cands, h); ok {
				names = append(names, fmt.Sprintf("Document%d", d.n))
			}
		}
		text = strings.Join(names, ",")
	case agent.RoleGenerator:
		text = " " + answerOf(q) + " " + closeTag(pr.tags.Answer)
	default:
		return llm.Response{}, fmt.Errorf("oracle: no teacher for role %s", r.role)
	}
	return r.o.reply(req, text), nil
}

func (o *Oracle) prompt(req llm.Request) string {
	if req.PromptIDs != nil {
		return o.Decode(req.PromptIDs)
	}
	return req.Prompt
}

// reply is text as a completion of req: cut at the first stop string,
// tokenised, every token certain. A text longer than req.MaxTokens is cut
// there as a policy's would be (finish reason length), so a demonstration
// never shows a turn the policy could not write.
func (o *Oracle) reply(req llm.Request, text string) llm.Response {
	c := llm.Choice{Text: text, FinishReason: "stop"}
	for _, st := range req.Stop {
		if i := strings.Index(text, st); i >= 0 {
			c.Text, c.StopString = text[:i], st
			break
		}
	}
	c.TokenIDs = o.Encode(text[:len(c.Text)+len(c.StopString)])
	if req.MaxTokens > 0 && len(c.TokenIDs) > req.MaxTokens {
		c.TokenIDs = c.TokenIDs[:req.MaxTokens]
		c.Text, c.StopString, c.FinishReason = o.Decode(c.TokenIDs), "", "length"
	}
	c.Logprobs = make([]float64, len(c.TokenIDs))
	return llm.Response{PromptIDs: req.PromptIDs, Choices: []llm.Choice{c}, Usage: llm.Usage{CompletionTokens: len(c.TokenIDs)}}
}

func (o *Oracle) question(prompt string, at slot) (world.Question, bool) {
	text, ok := at.in(prompt)
	if !ok {
		return world.Question{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	q, ok := o.byKey[strings.TrimSpace(text)]
	return q, ok
}

// Protocol is how a preset's episodes are written, read from the preset
// rather than spelt out: its tags, the text that opens each observation,
// where its prompts carry the question, and its roles. The oracle writes
// in it, and the reading drills and the tokenizer's protocol tokens use
// it, so every supervised row is in the protocol the runner parses.
type Protocol struct {
	mode     agent.Mode
	tags     agent.Tags
	obsOpen  string // the observation template before {observation}: each observation starts with it
	obsClose string // and after it
	// searchTool is the name a tool call searches by (the preset's
	// tool_names entry for search, or search).
	searchTool string
	browseTool string // and the name it browses by (browse_webpage)
	question   slot   // the main prompt's question line
	roles      map[string]roleProtocol
}

type roleProtocol struct {
	question, queries slot
}

// slot is where a template's placeholder sits on its line: the text
// before it and after it there (after: up to the line's end).
type slot struct{ before, after string }

func slotOf(tmpl, placeholder string) slot {
	i := strings.Index(tmpl, placeholder)
	if i < 0 {
		return slot{}
	}
	before := tmpl[strings.LastIndexByte(tmpl[:i], '\n')+1 : i]
	after, _, _ := strings.Cut(tmpl[i+len(placeholder):], "\n")
	return slot{before, after}
}

// in finds the slot's filled-in value in text: after the last occurrence
// of its lead-in, up to its tail (or the line's end).
func (s slot) in(text string) (string, bool) {
	if s.before == "" {
		return "", false
	}
	i := strings.LastIndex(text, s.before)
	if i < 0 {
		return "", false
	}
	rest := text[i+len(s.before):]
	end := "\n"
	if s.after != "" {
		end = s.after
	}
	v, _, _ := strings.Cut(rest, end)
	return v, true
}

// ProtocolOf reads p's protocol.
func ProtocolOf(p agent.Preset) Protocol {
	pre, post, _ := strings.Cut(p.Observation, "{observation}")
	pr := Protocol{mode: p.Mode, tags: p.Tags, obsOpen: pre, obsClose: post, question: slotOf(p.Prompt, "{question}"), searchTool: agent.ToolSearch, browseTool: agent.ToolBrowse}
	for name, tool := range p.ToolNames {
		if tool == agent.ToolSearch && (pr.searchTool == agent.ToolSearch || name < pr.searchTool) {
			pr.searchTool = name
		}
		if tool == agent.ToolBrowse && (pr.browseTool == agent.ToolBrowse || name < pr.browseTool) {
			pr.browseTool = name
		}
	}
	if len(p.Roles) > 0 {
		pr.roles = make(map[string]roleProtocol, len(p.Roles))
		for name, rc := range p.Roles {
			pr.roles[name] = roleProtocol{question: slotOf(rc.Prompt, "{question}"), queries: slotOf(rc.Prompt, "{queries}")}
		}
	}
	return pr
}

func openTag(tag string) string  { return "<" + tag + ">" }
func closeTag(tag string) string { return "</" + tag + ">" }

// Tokens are the protocol's tags, opening and closing, as a tokenizer's
// added tokens: the Search-R1 four first, in the order sleuth's
// tokenizers have always had them, then the others the preset uses.
func (pr Protocol) Tokens() []string {
	t := pr.tags
	var out []string
	for _, n := range []string{t.Search, t.Answer, t.Information, t.Think, t.Evidence, t.Analysis, t.ToolCall, t.Region} {
		if n != "" {
			out = append(out, openTag(n), closeTag(n))
		}
	}
	return out
}

// QuestionLine is the prompt's line that states question q.
func (pr Protocol) QuestionLine(q string) string {
	return pr.question.before + q + pr.question.after + "\n"
}

// Information wraps text as an information block.
func (pr Protocol) Information(text string) string {
	return openTag(pr.tags.Information) + text + closeTag(pr.tags.Information)
}

// ThinkOpen and ThinkClose open and close a thought.
func (pr Protocol) ThinkOpen() string  { return openTag(pr.tags.Think) }
func (pr Protocol) ThinkClose() string { return closeTag(pr.tags.Think) }

// Answer is the answer block for ans.
func (pr Protocol) Answer(ans string) string {
	return openTag(pr.tags.Answer) + " " + ans + " " + closeTag(pr.tags.Answer)
}

// Step is the oracle's turn after done searches: the next hop's search,
// or the answer once every hop has been searched. After a search it first
// states the fact it found as "The R of S is O." (when info, the last
// information block, names O): subject and relation come first and the
// object last, so the one name the policy must read out of the passages
// is written after everything that says which name it is, and each later
// copy of it ("I need the … of O", the answer) is a copy of text just
// before it. (Quoting the passage's own sentence instead asks a
// left-to-right model to pick a sentence by its first word, before it has
// seen the words that identify it.)
//
// Each search names the hops still to come ("I need the R1 of S, then its
// R2."), so whether to search again after a fact is read off the last
// thought (was there a "then"?) rather than worked out again from the
// question's nesting; policies trained without the plan answered
// multi-hop questions after their first hop.
func (pr Protocol) Step(q world.Question, done int, info string) string {
	fact := ""
	if done > 0 && done <= len(q.Chain) {
		if h := q.Chain[done-1]; h.Object != "" && strings.Contains(info, h.Object) {
			fact = factWords(h)
		}
	}
	if done < len(q.Chain) {
		h := q.Chain[done]
		var plan strings.Builder
		for _, later := range q.Chain[done+1:] {
			fmt.Fprintf(&plan, ", then its %s", RelationWords(later.Relation))
		}
		return fmt.Sprintf("%s%sI need the %s of %s%s.%s\n%s", pr.ThinkOpen(), fact, RelationWords(h.Relation), h.Subject, plan.String(), pr.ThinkClose(), pr.search(h.Query))
	}
	ans := answerOf(q)
	return fmt.Sprintf("%s%sSo the answer is %s.%s\n%s", pr.ThinkOpen(), fact, ans, pr.ThinkClose(), pr.Answer(ans))
}

// search is the action that searches for query: a search block, or with
// a tool-call tag a JSON call of the tool the preset maps to search
// (DeepResearcher's web_search).
func (pr Protocol) search(query string) string {
	if pr.tags.ToolCall == "" {
		return openTag(pr.tags.Search) + " " + query + " " + closeTag(pr.tags.Search)
	}
	q, _ := json.Marshal([]string{query})
	name, _ := json.Marshal(pr.searchTool)
	return fmt.Sprintf(`%s{"name": %s, "arguments": {"query": %s}}%s`, openTag(pr.tags.ToolCall), name, q, closeTag(pr.tags.ToolCall))
}

// Structured is the oracle's one turn in a rag preset with evidence and
// analysis tags (ARENA): the numbers of the documents that state the
// chain's facts, the facts in the oracle's words, and the answer.
func (pr Protocol) Structured(q world.Question, docs []doc) string {
	var cited []string
	var facts strings.Builder
	for _, h := range q.Chain {
		if d, ok := stating(docs, h); ok {
			cited = append(cited, strconv.Itoa(d.n))
			facts.WriteString(factWords(h))
		}
	}
	ans := answerOf(q)
	var b strings.Builder
	if t := pr.tags.Evidence; t != "" {
		b.WriteString(openTag(t) + strings.Join(cited, ", ") + closeTag(t) + "\n")
	}
	analysis := facts.String() + "So the answer is " + ans + "."
	switch {
	case pr.tags.Analysis != "":
		b.WriteString(openTag(pr.tags.Analysis) + analysis + closeTag(pr.tags.Analysis) + "\n")
	case pr.tags.Think != "":
		b.WriteString(pr.ThinkOpen() + analysis + pr.ThinkClose() + "\n")
	}
	b.WriteString(pr.Answer(ans))
	return b.String()
}

// refine is the refiner's condensation of a search's documents: the
// sentence that states the fact of the hop the query asks for (nothing
// when the query is no hop's or no document states it).
func refine(q world.Question, query string, docs []doc) string {
	for _, h := range q.Chain {
		if h.Query != query {
			continue
		}
		if d, ok := stating(docs, h); ok {
			return sentenceWith(d.text, h.Object)
		}
	}
	return ""
}

func factWords(h world.Hop) string {
	return fmt.Sprintf("The %s of %s is %s. ", RelationWords(h.Relation), h.Subject, h.Object)
}

func answerOf(q world.Question) string {
	if len(q.Answers) > 0 {
		return q.Answers[0]
	}
	return ""
}

// doc is one retrieved passage as a prompt shows it ("Doc n(Title: …) text").
type doc struct {
	n           int
	title, text string
}

var docLine = regexp.MustCompile(`(?m)^Doc (\d+)\(Title: ([^),]*)[^)]*\) (.*)$`)

// docsIn reads the documents shown in a prompt.
func docsIn(prompt string) []doc { return docsBy(docLine, prompt) }

// docsBy reads the documents of a prompt that re (number, title, text)
// finds.
func docsBy(re *regexp.Regexp, prompt string) []doc {
	var out []doc
	for _, m := range re.FindAllStringSubmatch(prompt, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, doc{n, m[2], m[3]})
	}
	return out
}

var candidateLine = regexp.MustCompile(`(?m)^Document(\d+): ([^:\n]*): (.*)$`)

// candidatesIn reads the candidates shown to MMOA's selector
// ("Document0: Title: text").
func candidatesIn(prompt string) []doc { return docsBy(candidateLine, prompt) }

// stating is the document that states hop h: its subject's passage naming
// its object (the first document naming both otherwise).
func stating(docs []doc, h world.Hop) (doc, bool) {
	if h.Object == "" {
		return doc{}, false
	}
	for _, d := range docs {
		if d.title == h.Subject && strings.Contains(d.text, h.Object) {
			return d, true
		}
	}
	for _, d := range docs {
		if strings.Contains(d.text, h.Subject) && strings.Contains(d.text, h.Object) {
			return d, true
		}
	}
	return doc{}, false
}

// sentenceWith is the first sentence of text that names name.
func sentenceWith(text, name string) string {
	for s := range strings.SplitAfterSeq(text, ". ") {
		if strings.Contains(s, name) {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// RelationWords names a relation in the oracle's thoughts (and in the
// reading drills written in its words).
func RelationWords(rel string) string { return strings.ReplaceAll(rel, "_", " ") }

// observations yields the texts of the prompt's observations, in order.
func (pr Protocol) observations(prompt string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		parts := strings.Split(prompt, pr.obsOpen)
		for _, part := range parts[1:] {
			if j := strings.Index(part, pr.obsClose); j >= 0 && pr.obsClose != "" {
				part = part[:j]
			}
			if !yield(part) {
				return
			}
		}
	}
}

// lastInformation is the text of the prompt's last observation.
func (pr Protocol) lastInformation(prompt string) string {
	last := ""
	for text := range pr.observations(prompt) {
		last = text
	}
	return last
}
