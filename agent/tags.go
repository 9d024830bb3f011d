package agent

import (
	"encoding/json"
	"fmt"
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
type tagParser struct {
	tags     Tags
	maxQuery int
	anyTag   *regexp.Regexp // any opening or closing protocol tag, loosely spelled
}

func newTagParser(t Tags, maxQuery int) *tagParser {
	names := t.names()
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	re := regexp.MustCompile(`(?i)<\s*/?\s*(` + strings.Join(names, "|") + `)\b[^>]*>?`)
	return &tagParser{tags: t, maxQuery: maxQuery, anyTag: re}
}

// Escape makes untrusted text safe to place inside an observation: any
// spelling of a protocol tag loses its angle brackets, and so does any
// chat-template special token ("<|im_end|>"), so retrieved text can never
// close the information block, open an action or fake a chat turn.
func (p *tagParser) Escape(s string) string {
	if !strings.Contains(s, "<") && !strings.Contains(s, "|>") {
		return s // the common case: nothing that could be a tag
	}
	s = p.anyTag.ReplaceAllStringFunc(s, func(m string) string {
		return "‹" + strings.TrimPrefix(strings.TrimSuffix(m, ">"), "<") + "›"
	})
	if strings.Contains(s, "<|") || strings.Contains(s, "|>") {
		s = strings.NewReplacer("<|", "‹|", "|>", "|›").Replace(s)
	}
	return s
}

// block finds the content of the single <tag>…</tag> in s. found reports
// whether the opening tag occurs; an error says what is malformed.
func block(s, tag string) (content string, found bool, err error) {
	o, c := openTag(tag), closeTag(tag)
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
	t := p.tags
	var a Action
	if t.Think != "" {
		if th, ok, err := block(turn, t.Think); ok && err == nil {
			a.Think = th
		}
	}
	if t.Information != "" && strings.Contains(turn, openTag(t.Information)) {
		a.Kind, a.Error = "none", fmt.Sprintf("the policy wrote %s itself: only the environment may", openTag(t.Information))
		return a
	}
	if t.ToolCall != "" && strings.Contains(turn, openTag(t.ToolCall)) {
		return p.parseToolCalls(turn, a)
	}
	if t.Region != "" && strings.Contains(turn, openTag(t.Region)) {
		return p.parseRegion(turn, a)
	}
	q, hasSearch, qerr := block(turn, t.Search)
	ans, hasAnswer, aerr := "", false, error(nil)
	if t.Answer != "" {
		ans, hasAnswer, aerr = block(turn, t.Answer)
	}
	switch {
	case hasSearch && hasAnswer:
		a.Kind, a.Error = "none", fmt.Sprintf("both %s and %s in one turn", openTag(t.Search), openTag(t.Answer))
	case hasAnswer:
		a.Kind = "answer"
		if aerr != nil {
			a.Error = aerr.Error()
		} else if ans == "" {
			a.Error = "empty answer"
		}
		a.Answer = ans
		p.structured(turn, &a)
	case hasSearch:
		a.Kind, a.Query = "search", q
		switch {
		case qerr != nil:
			a.Error = qerr.Error()
		case q == "":
			a.Error = "empty query"
		case len(q) > p.maxQuery:
			a.Error = fmt.Sprintf("query of %d bytes exceeds %d", len(q), p.maxQuery)
			a.Query = q[:p.maxQuery]
		default:
			a.Calls = []Call{{Tool: "search", Input: q}}
		}
	default:
		a.Kind = "none"
		switch {
		case qerr != nil:
			a.Error = qerr.Error()
		case aerr != nil:
			a.Error = aerr.Error()
		default:
			a.Error = fmt.Sprintf("no %s or %s", openTag(t.Search), openTag(t.Answer))
		}
	}
	return a
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
	a.Kind = "search"
	rest := turn
	for {
		i := strings.Index(rest, o)
		if i < 0 {
			break
		}
		rest = rest[i+len(o):]
		j := strings.Index(rest, c)
		if j < 0 {
			a.Kind, a.Error = "none", o+" is not closed"
			return a
		}
		body := strings.TrimSpace(rest[:j])
		rest = rest[j+len(c):]
		var tc toolCallJSON
		dec := json.NewDecoder(strings.NewReader(body))
		if err := dec.Decode(&tc); err != nil || dec.More() {
			a.Kind, a.Error = "none", fmt.Sprintf("tool call is not one JSON object: %.80q", body)
			return a
		}
		if tc.Name == "" {
			a.Kind, a.Error = "none", "tool call without a name"
			return a
		}
		inputs, err := toolInputs(tc)
		if err != nil {
			a.Kind, a.Error = "none", err.Error()
			return a
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
		for _, in := range inputs {
			if len(in) > p.maxQuery {
				a.Kind, a.Error = "none", fmt.Sprintf("%s input of %d bytes exceeds %d", tc.Name, len(in), p.maxQuery)
				return a
			}
			a.Calls = append(a.Calls, Call{Tool: tc.Name, Input: in, Args: args})
		}
	}
	if len(a.Calls) == 0 {
		a.Kind, a.Error = "none", "tool call with no input"
		return a
	}
	a.Query = a.Calls[0].Input
	return a
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
	a.Kind = "crop"
	v, _, err := block(turn, p.tags.Region)
	if err != nil {
		a.Kind, a.Error = "none", err.Error()
		return a
	}
	var box [4]float64
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' || r == '(' || r == ')' })
	if len(fields) != 4 {
		a.Kind, a.Error = "none", fmt.Sprintf("region needs four numbers, got %q", v)
		return a
	}
	for i, f := range fields {
		if _, err := fmt.Sscanf(f, "%g", &box[i]); err != nil || box[i] < 0 {
			a.Kind, a.Error = "none", fmt.Sprintf("region coordinate %q is not a non-negative number", f)
			return a
		}
	}
	if box[2] <= box[0] || box[3] <= box[1] {
		a.Kind, a.Error = "none", fmt.Sprintf("region %v is empty: right must exceed left and bottom exceed top", box)
		return a
	}
	a.Box = &box
	a.Calls = []Call{{Tool: "crop", Input: fmt.Sprintf("%g,%g,%g,%g", box[0], box[1], box[2], box[3])}}
	return a
}
