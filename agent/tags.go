package agent

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"regexp"
	"strings"
)

// Tags names the tags of a tag-based protocol (Search-R1, DeepResearcher,
// ARENA). Empty names are unused. Presets set them; nothing in the runner
// hard-codes a tag.
type Tags struct {
	Think       string `yaml:"think" json:"think"`             // "think"
	Search      string `yaml:"search" json:"search"`           // "search"
	Answer      string `yaml:"answer" json:"answer"`           // "answer"
	Information string `yaml:"information" json:"information"` // "information": wraps observations
	Evidence    string `yaml:"evidence" json:"evidence"`       // ARENA: cited document numbers, e.g. "relevance"
	Analysis    string `yaml:"analysis" json:"analysis"`       // ARENA: the reasoning over the evidence
	// ToolCall, when set, switches actions to JSON tool calls inside this
	// tag, as chat models write them: <tool_call>{"name": "web_search",
	// "arguments": {"query": ["…"]}}</tool_call> (DeepResearcher, Qwen).
	ToolCall string `yaml:"tool_call" json:"tool_call"`
	// Region, when set, is VRAG's region action: <region>[x1, y1, x2, y2]</region>
	// asks the crop tool to zoom into that box of the last image shown.
	Region string `yaml:"region" json:"region"`
}

// DefaultTags are Search-R1's.
func DefaultTags() Tags {
	return Tags{Think: "think", Search: "search", Answer: "answer", Information: "information"}
}

func (t Tags) names() []string {
	var out []string
	for _, n := range []string{t.Think, t.Search, t.Answer, t.Information, t.Evidence, t.Analysis, t.ToolCall, t.Region, "tool_response"} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Stops are the stop strings that end a policy turn: the closing tags of
// the actions.
func (t Tags) Stops() []string {
	var out []string
	if t.ToolCall != "" {
		out = append(out, closeTag(t.ToolCall))
	}
	if t.Search != "" {
		out = append(out, closeTag(t.Search))
	}
	if t.Region != "" {
		out = append(out, closeTag(t.Region))
	}
	if t.Answer != "" {
		out = append(out, closeTag(t.Answer))
	}
	return out
}

func openTag(tag string) string  { return "<" + tag + ">" }
func closeTag(tag string) string { return "</" + tag + ">" }

// tagParser parses policy turns and escapes observations for one Tags.
// It is built once per Runner and read by every episode, so the tag
// strings a turn needs are spelled out here once rather than per turn.
type tagParser struct {
	tags     Tags
	maxQuery int
	anyTag   *regexp.Regexp    // any opening or closing protocol tag, loosely spelled
	specials *strings.Replacer // chat-template special-token brackets
	stops    []string          // Tags.Stops(), shared read-only by every request

	pairs [nPairs]tagPair
	// marks spells the tags a scan looks for, opening tag of pair k at 2k
	// and closing at 2k+1 ("" for a tag Parse never asks about); fast says
	// a one-pass scan finds them exactly (see tagScan).
	marks [2 * nPairs]string
	fast  bool
	// openBy[c] and closeBy[c] are the marks (bit m for marks[m]) an
	// opening tag whose second byte is c, or a closing tag whose third
	// byte is c, may be: a scan tries only those at each '<'.
	openBy, closeBy [256]uint16
}

// The tag pairs Parse asks about, indexing tagParser.pairs.
const (
	pThink = iota
	pSearch
	pAnswer
	pInformation
	pToolCall
	pRegion
	nPairs
)

// tagPair is a tag's opening and closing spelling ("<>" and "</>" for an
// unused tag, as openTag and closeTag spell it).
type tagPair struct{ open, close string }

func pairOf(tag string) tagPair { return tagPair{openTag(tag), closeTag(tag)} }

func newTagParser(t Tags, maxQuery int) *tagParser {
	names := t.names()
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	re := regexp.MustCompile(`(?i)<\s*/?\s*(` + strings.Join(names, "|") + `)\b[^>]*>?`)
	p := &tagParser{tags: t, maxQuery: maxQuery, anyTag: re,
		specials: strings.NewReplacer("<|", "‹|", "|>", "|›", "<｜", "‹｜", "｜>", "｜›"),
		stops:    t.Stops(),
		pairs:    [nPairs]tagPair{pairOf(t.Think), pairOf(t.Search), pairOf(t.Answer), pairOf(t.Information), pairOf(t.ToolCall), pairOf(t.Region)},
	}
	// Search and answer are always asked about (spelled "<>" when unnamed);
	// the others only when named.
	asked := [nPairs]bool{t.Think != "", true, true, t.Information != "", t.ToolCall != "", t.Region != ""}
	// The scan is exact when every tag it looks for is distinct and has
	// '<' only first and '>' only last: occurrences then never overlap, and
	// each starts at its own '<'.
	p.fast = true
	seen := map[string]bool{}
	for k, pr := range p.pairs {
		if !asked[k] {
			continue
		}
		p.marks[2*k], p.marks[2*k+1] = pr.open, pr.close
		p.openBy[pr.open[1]] |= 1 << (2 * k)
		p.closeBy[pr.close[2]] |= 1 << (2*k + 1)
		for _, m := range []string{pr.open, pr.close} {
			if seen[m] || strings.ContainsAny(m[1:len(m)-1], "<>") {
				p.fast = false
			}
			seen[m] = true
		}
	}
	return p
}

// Stops returns the stop strings of a turn. The slice is shared: callers
// must not modify it (its capacity is its length, so append copies).
func (p *tagParser) Stops() []string { return p.stops[:len(p.stops):len(p.stops)] }

// Escape makes untrusted text safe to place inside an observation: any
// spelling of a protocol tag loses its angle brackets, and so does any
// chat-template special token ("<|im_end|>"), so retrieved text can never
// close the information block, open an action or fake a chat turn.
//
// Other chat families' control markers lose their brackets too, whatever
// the tokenizer in use, since a policy may be served by another family's
// tokenizer: anything spelled like a tag (Gemma's <start_of_turn>,
// Llama-2's <s>, </s> and <<SYS>>), DeepSeek's fullwidth-bar markers
// (<｜User｜>) and Mistral's square ones ([INST], [/INST], [TOOL_CALLS]).
// The escaped text tokenises to ordinary tokens only.
func (p *tagParser) Escape(s string) string {
	if safe(s) {
		return s // the common case: nothing that could be a tag
	}
	s = p.anyTag.ReplaceAllStringFunc(s, func(m string) string {
		return "‹" + strings.TrimPrefix(strings.TrimSuffix(m, ">"), "<") + "›"
	})
	if strings.Contains(s, "<|") || strings.Contains(s, "|>") || strings.Contains(s, "｜") {
		s = p.specials.Replace(s)
	}
	if strings.IndexByte(s, '<') >= 0 {
		s = angleMarker.ReplaceAllStringFunc(s, func(m string) string {
			return strings.NewReplacer("<", "‹", ">", "›").Replace(m)
		})
	}
	if strings.IndexByte(s, '[') >= 0 {
		s = squareMarker.ReplaceAllStringFunc(s, func(m string) string {
			return "［" + m[1:len(m)-1] + "］"
		})
	}
	return s
}

// angleMarker is anything spelled like a tag or a control token in angle
// brackets; squareMarker is Mistral's bracketed control words.
var (
	angleMarker  = regexp.MustCompile(`<{1,2}/?[A-Za-z_][A-Za-z0-9_.:\-]{0,40}>{1,2}`)
	squareMarker = regexp.MustCompile(`\[/?[A-Z][A-Z_]{2,30}\]`)
)

// EscapeTo writes Escape(s) to b; text with nothing to escape (nearly all
// retrieved text) is copied once, straight into the context.
func (p *tagParser) EscapeTo(b *strings.Builder, s string) {
	if safe(s) {
		b.WriteString(s)
		return
	}
	b.WriteString(p.Escape(s))
}

// safe reports whether s holds nothing Escape would change: no '<', no
// "|>", no fullwidth bar and no '[' (the last is common in text, so the
// slower path runs more often than it changes anything).
func safe(s string) bool {
	return strings.IndexByte(s, '<') < 0 && strings.IndexByte(s, '[') < 0 && !strings.Contains(s, "|>") && !strings.Contains(s, "｜")
}

// block finds the content of the single <tag>…</tag> in s. found reports
// whether the opening tag occurs; an error says what is malformed.
func block(s, tag string) (content string, found bool, err error) {
	return pairOf(tag).block(s)
}

// block is block for a tag spelled out already.
func (t tagPair) block(s string) (content string, found bool, err error) {
	o, c := t.open, t.close
	i := strings.Index(s, o)
	if i < 0 {
		if strings.Contains(s, c) {
			return "", false, fmt.Errorf("%s without %s", c, o)
		}
		return "", false, nil
	}
	rest := s[i+len(o):]
	j := strings.Index(rest, c)
	if j < 0 {
		return "", true, fmt.Errorf("%s is not closed", o)
	}
	if strings.Contains(rest[j+len(c):], o) {
		return "", true, fmt.Errorf("more than one %s", o)
	}
	content = rest[:j]
	if strings.Contains(content, o) {
		return "", true, fmt.Errorf("nested %s", o)
	}
	return strings.TrimSpace(content), true, nil
}

// Parse reads one policy turn (the text generated since the last
// observation, closing tag included).
func (p *tagParser) Parse(turn string) Action {
	if p.fast {
		var sc tagScan
		if sc.scan(p, turn) {
			return p.parse(turn, &sc)
		}
	}
	return p.parse(turn, nil)
}

// parse is Parse, asking sc where the tags are when it is set and
// searching turn for each when it is nil (the reference the fuzz test
// holds the scan to).
func (p *tagParser) parse(turn string, sc *tagScan) Action {
	t := p.tags
	var a Action
	if t.Think != "" && p.has(turn, sc, pThink) { // a stray </think> alone changes nothing: skip that search
		if th, ok, err := p.blockOf(turn, sc, pThink); ok && err == nil {
			a.Think = th
		}
	}
	if t.Information != "" && p.has(turn, sc, pInformation) {
		a.Kind, a.Error = ActionNone, fmt.Sprintf("the policy wrote %s itself: only the environment may", p.pairs[pInformation].open)
		return a
	}
	if t.ToolCall != "" && p.has(turn, sc, pToolCall) {
		return p.parseToolCalls(turn, a)
	}
	if t.Region != "" && p.has(turn, sc, pRegion) {
		return p.parseRegion(turn, a)
	}
	q, hasSearch, qerr := p.blockOf(turn, sc, pSearch)
	ans, hasAnswer, aerr := "", false, error(nil)
	if t.Answer != "" {
		ans, hasAnswer, aerr = p.blockOf(turn, sc, pAnswer)
	}
	switch {
	case hasSearch && hasAnswer:
		a.Kind, a.Error = ActionNone, fmt.Sprintf("both %s and %s in one turn", p.pairs[pSearch].open, p.pairs[pAnswer].open)
	case hasAnswer:
		a.Kind = ActionAnswer
		if aerr != nil {
			a.Error = aerr.Error()
		} else if ans == "" {
			a.Error = "empty answer"
		}
		a.Answer = ans
		p.structured(turn, &a)
	case hasSearch:
		a.Kind, a.Query = ActionSearch, q
		switch {
		case qerr != nil:
			a.Error = qerr.Error()
		case q == "":
			a.Error = "empty query"
		case len(q) > p.maxQuery:
			a.Error = fmt.Sprintf("query of %d bytes exceeds %d", len(q), p.maxQuery)
			a.Query = q[:p.maxQuery]
		default:
			a.Calls = []Call{{Tool: ToolSearch, Input: q}}
		}
	default:
		a.Kind = ActionNone
		switch {
		case qerr != nil:
			a.Error = qerr.Error()
		case aerr != nil:
			a.Error = aerr.Error()
		default:
			a.Error = fmt.Sprintf("no %s or %s", p.pairs[pSearch].open, p.pairs[pAnswer].open)
		}
	}
	return a
}

// has reports whether pair k's opening tag occurs in turn.
func (p *tagParser) has(turn string, sc *tagScan, k int) bool {
	if sc == nil {
		return strings.Contains(turn, p.pairs[k].open)
	}
	return sc.next(2*k, 0) >= 0
}

// blockOf is block for pair k.
func (p *tagParser) blockOf(turn string, sc *tagScan, k int) (content string, found bool, err error) {
	if sc == nil {
		return p.pairs[k].block(turn)
	}
	return sc.block(turn, k, p.pairs[k])
}

// tagScan records where the tags Parse asks about occur in a turn, found
// in one pass over its '<' bytes rather than a search of the turn per
// question (a turn is parsed once per policy generation, so this is on
// every episode's path). Turns with more tags than it holds are parsed
// the slow way.
type tagScan struct {
	n    int
	hits [16]tagHit
}

type tagHit struct {
	mark int32 // index into tagParser.marks
	at   int32 // byte offset in the turn
}

// scan fills sc from s; false means s has too many tags to hold.
func (sc *tagScan) scan(p *tagParser, s string) bool {
	if len(s) > 1<<30 {
		return false
	}
	for k := 0; ; k++ {
		i := strings.IndexByte(s[k:], '<')
		if i < 0 {
			return true
		}
		k += i
		if k+1 == len(s) {
			return true // every mark is at least "<>": none starts at the last byte
		}
		cands := p.openBy[s[k+1]]
		if s[k+1] == '/' && k+2 < len(s) {
			cands |= p.closeBy[s[k+2]]
		}
		for ; cands != 0; cands &= cands - 1 {
			m := bits.TrailingZeros16(cands)
			if strings.HasPrefix(s[k:], p.marks[m]) {
				if sc.n == len(sc.hits) {
					return false
				}
				sc.hits[sc.n] = tagHit{int32(m), int32(k)}
				sc.n++
				break
			}
		}
	}
}

// next returns the offset of the first occurrence of mark at or after
// from, or -1.
func (sc *tagScan) next(mark, from int) int {
	for _, h := range sc.hits[:sc.n] {
		if int(h.mark) == mark && int(h.at) >= from {
			return int(h.at)
		}
	}
	return -1
}

// block is tagPair.block for pair k of s, from the scan.
func (sc *tagScan) block(s string, k int, t tagPair) (content string, found bool, err error) {
	i := sc.next(2*k, 0)
	if i < 0 {
		if sc.next(2*k+1, 0) >= 0 {
			return "", false, fmt.Errorf("%s without %s", t.close, t.open)
		}
		return "", false, nil
	}
	start := i + len(t.open)
	j := sc.next(2*k+1, start)
	if j < 0 {
		return "", true, fmt.Errorf("%s is not closed", t.open)
	}
	if sc.next(2*k, j+len(t.close)) >= 0 {
		return "", true, fmt.Errorf("more than one %s", t.open)
	}
	if n := sc.next(2*k, start); n >= 0 && n < j {
		return "", true, fmt.Errorf("nested %s", t.open)
	}
	return strings.TrimSpace(s[start:j]), true, nil
}

// structured reads ARENA's evidence and analysis blocks beside an answer.
func (p *tagParser) structured(turn string, a *Action) {
	if p.tags.Analysis != "" {
		if v, ok, err := block(turn, p.tags.Analysis); ok && err == nil {
			a.Analysis = v
		}
	}
	if p.tags.Evidence == "" {
		return
	}
	v, ok, err := block(turn, p.tags.Evidence)
	if !ok || err != nil {
		if a.Error == "" {
			a.Error = fmt.Sprintf("answer without a well-formed %s block", openTag(p.tags.Evidence))
		}
		return
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' || r == ';' }) {
		a.Evidence = append(a.Evidence, strings.TrimSpace(f))
	}
}

// toolCallJSON is one JSON tool call: {"name": …, "arguments": {…}}.
type toolCallJSON struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// parseToolCalls reads every <tool_call> block of a turn. A search call's
// query may be a string or a list of strings (DeepResearcher's web_search);
// each query becomes one call.
func (p *tagParser) parseToolCalls(turn string, a Action) Action {
	o, c := openTag(p.tags.ToolCall), closeTag(p.tags.ToolCall)
	a.Kind = ActionSearch
	rest := turn
	for {
		i := strings.Index(rest, o)
		if i < 0 {
			break
		}
		rest = rest[i+len(o):]
		j := strings.Index(rest, c)
		if j < 0 {
			a.Kind, a.Error = ActionNone, o+" is not closed"
			return a
		}
		body := strings.TrimSpace(rest[:j])
		rest = rest[j+len(c):]
		var tc toolCallJSON
		dec := json.NewDecoder(strings.NewReader(body))
		if err := dec.Decode(&tc); err != nil || dec.More() {
			a.Kind, a.Error = ActionNone, fmt.Sprintf("tool call is not one JSON object: %.80q", body)
			return a
		}
		if tc.Name == "" {
			a.Kind, a.Error = ActionNone, "tool call without a name"
			return a
		}
		calls, err := callsOf(tc, p.maxQuery)
		if err != nil {
			a.Kind, a.Error = ActionNone, err.Error()
			return a
		}
		a.Calls = append(a.Calls, calls...)
	}
	if len(a.Calls) == 0 {
		a.Kind, a.Error = ActionNone, "tool call with no input"
		return a
	}
	a.Query = a.Calls[0].Input
	return a
}

// callsOf turns one JSON tool call into calls, one per input; its other
// string arguments (a browse goal) go to every call's Args.
func callsOf(tc toolCallJSON, maxQuery int) ([]Call, error) {
	inputs, err := toolInputs(tc)
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	for k, v := range tc.Arguments {
		if s, ok := v.(string); ok && k != "query" && k != "url" {
			args[k] = s
		}
	}
	if len(args) == 0 {
		args = nil
	}
	calls := make([]Call, 0, len(inputs))
	for _, in := range inputs {
		if len(in) > maxQuery {
			return nil, fmt.Errorf("%s input of %d bytes exceeds %d", tc.Name, len(in), maxQuery)
		}
		calls = append(calls, Call{Tool: tc.Name, Input: in, Args: args})
	}
	return calls, nil
}

// toolInputs pulls the inputs out of a call's arguments: the first of
// query, queries, url, url_list, urls that is present, as a string or a
// list of strings.
func toolInputs(tc toolCallJSON) ([]string, error) {
	for _, key := range []string{"query", "queries", "url", "url_list", "urls"} {
		v, ok := tc.Arguments[key]
		if !ok {
			continue
		}
		var out []string
		switch x := v.(type) {
		case string:
			out = []string{x}
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%s: %s must hold strings", tc.Name, key)
				}
				out = append(out, s)
			}
		default:
			return nil, fmt.Errorf("%s: %s must be a string or a list of strings", tc.Name, key)
		}
		var kept []string
		for _, s := range out {
			if s = strings.TrimSpace(s); s != "" {
				kept = append(kept, s)
			}
		}
		if len(kept) == 0 {
			return nil, fmt.Errorf("%s: empty %s", tc.Name, key)
		}
		return kept, nil
	}
	return nil, fmt.Errorf("%s: arguments need a query or url", tc.Name)
}

// parseRegion reads VRAG's region action: four numbers, the box's left,
// top, right and bottom, in the image's pixels or as fractions of it.
func (p *tagParser) parseRegion(turn string, a Action) Action {
	a.Kind = ActionCrop
	v, _, err := block(turn, p.tags.Region)
	if err != nil {
		a.Kind, a.Error = ActionNone, err.Error()
		return a
	}
	var box [4]float64
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' || r == '(' || r == ')' })
	if len(fields) != 4 {
		a.Kind, a.Error = ActionNone, fmt.Sprintf("region needs four numbers, got %q", v)
		return a
	}
	for i, f := range fields {
		if _, err := fmt.Sscanf(f, "%g", &box[i]); err != nil || box[i] < 0 {
			a.Kind, a.Error = ActionNone, fmt.Sprintf("region coordinate %q is not a non-negative number", f)
			return a
		}
	}
	if box[2] <= box[0] || box[3] <= box[1] {
		a.Kind, a.Error = ActionNone, fmt.Sprintf("region %v is empty: right must exceed left and bottom exceed top", box)
		return a
	}
	a.Box = &box
	a.Calls = []Call{{Tool: ToolCrop, Input: fmt.Sprintf("%g,%g,%g,%g", box[0], box[1], box[2], box[3])}}
	return a
}
