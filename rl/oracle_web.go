package rl

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/world"
)

// webDoc is a web search result as the runner shows it: "Doc n(Title: T,
// URL: U) snippet".
var webDoc = regexp.MustCompile(`(?m)^Doc \d+\(Title: ([^,\n]*), URL: ([^)\s]+)\)`)

// browsed is a browse observation: "URL: U\nTitle: T\nNotes: …".
var browsed = regexp.MustCompile(`(?m)^URL: (\S+)\n`)

// webStep is the oracle's turn in DeepResearcher's protocol over the
// simulated web: for each hop, web_search with the hop's query, then
// browse_webpage on the result that is the hop's subject's page (its
// title is the subject's name), with the hop's query as the goal; the
// browsing sub-agent reads the page part by part and returns notes. When
// the notes miss the fact (the browser stops after a few parts of a long
// page), it browses the next result whose snippet states the fact. Once
// every hop was browsed, it answers, its last thought citing the pages
// whose notes stated the facts. A hop with nothing left to browse moves
// on (the answer is still the oracle's). The observations so far say
// where the episode is, so the oracle keeps no state between turns.
func (pr Protocol) webStep(q world.Question, prompt string) string {
	hop, info := 0, ""
	var cands, sources []string // the hop's pages to browse, in order; the pages cited
	tried := map[string]bool{}
	next := func() string { // the hop's next page to browse
		for _, u := range cands {
			if !tried[u] {
				return u
			}
		}
		return ""
	}
	for ob := range pr.observations(prompt) {
		if hop >= len(q.Chain) {
			break
		}
		h := q.Chain[hop]
		info = ""
		if m := browsed.FindStringSubmatch(ob); m != nil {
			tried[m[1]] = true
			if _, notes, _ := strings.Cut(ob, "\nNotes:"); containsWords(notes, h.Object) {
				sources, info = append(sources, m[1]), notes
				hop, cands = hop+1, nil
			} else if next() == "" {
				hop, cands = hop+1, nil
			}
			continue
		}
		cands, tried = webPages(ob, h), map[string]bool{}
		if len(cands) == 0 {
			hop++
		}
	}
	if hop < len(q.Chain) {
		if u := next(); u != "" {
			h := q.Chain[hop]
			return fmt.Sprintf("%sThe page %s should give the %s of %s.%s\n%s", pr.ThinkOpen(), u, RelationWords(h.Relation), h.Subject, pr.ThinkClose(), pr.browse(u, h.Query))
		}
		return pr.Step(q, hop, info)
	}
	fact := ""
	if h := q.Chain[len(q.Chain)-1]; h.Object != "" && strings.Contains(info, h.Object) {
		fact = factWords(h)
	}
	cite := ""
	if len(sources) > 0 {
		cite = "Sources: " + strings.Join(sources, ", ") + ". "
	}
	ans := answerOf(q)
	return fmt.Sprintf("%s%s%sSo the answer is %s.%s\n%s", pr.ThinkOpen(), fact, cite, ans, pr.ThinkClose(), pr.Answer(ans))
}

// webPages are the pages of a web search's results to browse for hop h:
// the subject's own page, then those whose snippet states the fact.
func webPages(results string, h world.Hop) []string {
	var own, stating []string
	for _, line := range strings.Split(results, "\n") {
		m := webDoc.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch snippet := line[len(m[0]):]; {
		case strings.TrimSpace(m[1]) == h.Subject:
			own = append(own, m[2])
		case h.Object != "" && containsWords(snippet, h.Object) && namesSubject(snippet, h.Subject):
			stating = append(stating, m[2])
		}
	}
	return append(own, stating...)
}

// browse is the tool call that reads url with goal: the JSON call of the
// tool the preset maps to browse (DeepResearcher's browse_webpage).
func (pr Protocol) browse(url, goal string) string {
	name, _ := json.Marshal(pr.browseTool)
	u, _ := json.Marshal([]string{url})
	g, _ := json.Marshal(goal)
	return fmt.Sprintf(`%s{"name": %s, "arguments": {"url_list": %s, "goal": %s}}%s`, openTag(pr.tags.ToolCall), name, u, g, closeTag(pr.tags.ToolCall))
}

// Browser is the oracle as DeepResearcher's browsing sub-agent (the
// browse tool's model): for each part of a page it is shown, it notes the
// sentences that state a fact of the question's chain (they name the
// hop's object and its subject, or the last word of the subject's name, as
// the world's passages call a person) and stops; a part without one is
// NONE. It is a reader that knows what the question needs, as a good
// browsing model would: the main policy still has to open the right page.
func (o *Oracle) Browser() llm.Client { return browserOracle{o} }

type browserOracle struct{ o *Oracle }

var (
	browserQuestion = slot{before: "Question: "}
	browserPart     = regexp.MustCompile(`(?s)part \d+ of \d+:\n(.*)\nWrite each new fact`)
)

func (b browserOracle) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	prompt := b.o.prompt(req)
	q, ok := b.o.question(prompt, browserQuestion)
	if !ok {
		return llm.Response{}, fmt.Errorf("oracle browser: no known question in the prompt")
	}
	m := browserPart.FindStringSubmatch(prompt)
	if m == nil {
		return llm.Response{}, fmt.Errorf("oracle browser: no page part in the prompt")
	}
	var notes []string
	for _, line := range strings.Split(m[1], "\n") {
		words := strings.Fields(line)
		for start, end := range sentences(words) {
			s := strings.Join(words[start:end], " ")
			for _, h := range q.Chain {
				if h.Object != "" && containsWords(s, h.Object) && namesSubject(s, h.Subject) {
					notes = append(notes, s)
					break
				}
			}
		}
	}
	text := "NONE"
	if len(notes) > 0 {
		text = "- " + strings.Join(notes, "\n- ") + "\nSTOP"
	}
	return b.o.reply(req, text), nil
}

// namesSubject reports whether sentence s names subject, in full or by
// the last word of its name.
func namesSubject(s, subject string) bool {
	if containsWords(s, subject) {
		return true
	}
	f := strings.Fields(subject)
	if len(f) < 2 {
		return false
	}
	for _, w := range strings.Fields(s) {
		if strings.TrimSuffix(strings.TrimRight(w, ".,;:"), "'s") == f[len(f)-1] {
			return true
		}
	}
	return false
}
