// Package behaviour measures how a search agent works, not only whether it
// is right: how much it searches as questions need more hops, whether it
// avoids answering, breaks the protocol, uses what it retrieves, repeats
// queries, how its reasoning channel holds up, and what a question costs.
//
// Every metric is defined here once, on one agent.Episode (Measure) and as
// an aggregate over many (Summarise). Evaluation (eval) and training (rl)
// both call these functions, so a figure in a training report and the same
// figure in an evaluation summary mean the same thing.
package behaviour

import (
	"math"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
)

// Measures is one episode's behaviour. Counts are raw so that aggregates
// can pool them (a rate over all turns, not a mean of per-episode rates).
type Measures struct {
	Searches int `json:"searches"` // search tool calls
	// Avoided: the episode gave no answer at all (ran out of budget or
	// broke the protocol), or an answer that declines (Avoidance). Failed
	// and cancelled episodes never count.
	Avoided bool `json:"avoided,omitempty"`
	// Turns and MalformedTurns: policy turns, and those the parser
	// rejected (Action.Error), answers included.
	Turns          int `json:"turns"`
	MalformedTurns int `json:"malformed_turns,omitempty"`
	// ToolTurns and ToolParseFailures: turns that were not an answer (a
	// tool call or an attempt at one), and those that did not parse into a
	// call. Malformed turns that carry no answer count as failed attempts.
	ToolTurns         int `json:"tool_turns"`
	ToolParseFailures int `json:"tool_parse_failures,omitempty"`
	// Supported: some observation the episode was shown contains the final
	// answer (normalised, whole words). False when there is no answer.
	Supported bool `json:"supported,omitempty"`
	// UnusedSearches: searches whose results the episode never used: the
	// answer is not in them, and no later query and not the answer take a
	// content word from them (a word not in the question or that search's
	// own query, not a stop word).
	UnusedSearches int `json:"unused_searches,omitempty"`
	// DuplicateQueries: searches whose query normalises to an earlier one
	// of the same episode.
	DuplicateQueries int `json:"duplicate_queries,omitempty"`
	// ThinkTurns, ThinkWords: turns with reasoning text and its words in
	// total. ThinkNgrams, ThinkRepeats: word 4-grams of that text (each
	// turn's own) and those that already occurred earlier in the episode.
	ThinkTurns   int `json:"think_turns,omitempty"`
	ThinkWords   int `json:"think_words,omitempty"`
	ThinkNgrams  int `json:"think_ngrams,omitempty"`
	ThinkRepeats int `json:"think_repeats,omitempty"`
	// Cost.
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	ToolCalls        int     `json:"tool_calls"`
	Dollars          float64 `json:"dollars,omitempty"`
	Seconds          float64 `json:"seconds"`
}

// avoidPhrases are whole answers (after reward.Normalize) that decline to
// answer; refusalPrefixes begin answers that do.
var (
	avoidPhrases = map[string]bool{
		"unknown": true, "i dont know": true, "i do not know": true, "no answer": true, "noanswer": true,
		"unanswerable": true, "cannot be determined": true, "cannot determine": true, "not enough information": true,
		"insufficient information": true, "not known": true, "na": true, "not available": true,
		"information not available": true, "no information": true, "not found": true, "none found": true,
	}
	refusalPrefixes = []string{"i cannot", "i cant", "i can not", "im sorry", "i am sorry", "sorry", "i am unable", "im unable", "unable to", "i dont know", "i do not know"}
)

// Avoidance reports whether an answer declines to answer: empty, one of a
// fixed set of non-answers ("unknown", "I don't know", "cannot be
// determined", "N/A", ...) or a refusal ("I cannot ...", "Sorry, ...").
// Matching is on reward.Normalize's form, so case and punctuation do not
// matter.
func Avoidance(answer string) bool {
	n := reward.Normalize(answer)
	if n == "" || avoidPhrases[n] {
		return true
	}
	for _, p := range refusalPrefixes {
		if n == p || strings.HasPrefix(n, p+" ") {
			return true
		}
	}
	return false
}

// Measure computes ep's behaviour.
func Measure(ep *agent.Episode) Measures {
	m := Measures{
		Searches: ep.Ledger.Searches, Turns: len(ep.Turns), DuplicateQueries: reward.Repeats(ep.Queries),
		PromptTokens: ep.Ledger.PromptTokens, CompletionTokens: ep.Ledger.CompletionTokens, ToolCalls: ep.Ledger.ToolCalls,
		Dollars: ep.Ledger.Dollars, Seconds: ep.Ledger.Wall.Seconds(),
	}
	answered := ep.Status == agent.Answered
	// A failed or cancelled episode says nothing of the policy's will to
	// answer: the backend or the caller stopped it.
	stopped := ep.Status == agent.Failed || ep.Status == agent.Cancelled
	m.Avoided = !stopped && (!answered || Avoidance(ep.Answer))
	seen := map[string]bool{}
	for _, t := range ep.Turns {
		a := t.Action
		if a.Error != "" {
			m.MalformedTurns++
		}
		if a.Kind != agent.ActionAnswer && a.Answer == "" {
			m.ToolTurns++
			if a.Error != "" {
				m.ToolParseFailures++
			}
		}
		if th := strings.Fields(a.Think); len(th) > 0 {
			m.ThinkTurns++
			m.ThinkWords += len(th)
			for i := 0; i+4 <= len(th); i++ {
				g := strings.ToLower(strings.Join(th[i:i+4], " "))
				m.ThinkNgrams++
				if seen[g] {
					m.ThinkRepeats++
				}
				seen[g] = true
			}
		}
	}
	m.Supported, m.UnusedSearches = evidenceUse(ep, answered)
	return m
}

// evidenceUse says whether an observation supports the answer and how many
// searches went unused (see Measures).
func evidenceUse(ep *agent.Episode, answered bool) (supported bool, unused int) {
	ans := ""
	if answered {
		ans = reward.Normalize(ep.Answer)
	}
	type search struct {
		query string
		obs   string // normalised, padded with spaces for whole-word matches
	}
	var searches []search
	var later []string // normalised later queries, in order
	for _, t := range ep.Turns {
		for _, c := range t.Calls {
			obs := " " + reward.Normalize(c.Observation) + " "
			if ans != "" && strings.Contains(obs, " "+ans+" ") {
				supported = true
			}
			if c.Tool == "search" {
				searches = append(searches, search{query: reward.Normalize(c.Input), obs: obs})
				later = append(later, reward.Normalize(c.Input))
			}
		}
	}
	// A rag preset's one search is attached to no turn: its documents are
	// in the first context segment, which stands in for it.
	if len(searches) == 0 && ep.Ledger.Searches > 0 && len(ep.Context) > 0 {
		obs := " " + reward.Normalize(ep.Context[0].Text) + " "
		supported = ans != "" && strings.Contains(obs, " "+ans+" ")
		q := reward.Normalize(ep.Question)
		searches = append(searches, search{query: q, obs: obs})
		later = append(later, q)
	}
	question := wordSet(reward.Normalize(ep.Question))
	for i, s := range searches {
		if ans != "" && strings.Contains(s.obs, " "+ans+" ") {
			continue
		}
		own := wordSet(s.query)
		used := false
		uses := append(later[i+1:len(later):len(later)], ans)
		for _, u := range uses {
			for _, w := range strings.Fields(u) {
				if !question[w] && !own[w] && !stop[w] && strings.Contains(s.obs, " "+w+" ") {
					used = true
				}
			}
		}
		if !used {
			unused++
		}
	}
	return supported, unused
}

func wordSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(s) {
		out[w] = true
	}
	return out
}

// stop lists words too common to show that a query took them from results
// (articles are already gone after reward.Normalize).
var stop = wordSet("of in on at to for from by with and or is was were be been are as that this which who whom whose what when where why how did does do it its his her their he she they born name")

// Summary aggregates Measures over many episodes. Rates pool counts (all
// turns of all episodes), per-question figures are means.
type Summary struct {
	Episodes int `json:"episodes"`
	// SearchesByHops is the mean searches per question by gold hop count,
	// where hops are known; HopSlope the least-squares slope of searches
	// on hops over those questions (nil with fewer than two hop counts).
	SearchesByHops  map[int]float64 `json:"searches_by_hops,omitempty"`
	HopSlope        *float64        `json:"hop_slope,omitempty"`
	Searches        float64         `json:"searches"`          // per question
	AvoidanceRate   float64         `json:"avoidance_rate"`    // share of episodes
	FormatErrorRate float64         `json:"format_error_rate"` // malformed turns / turns
	// ToolParseFailureRate: failed tool-call attempts / tool turns.
	ToolParseFailureRate float64 `json:"tool_parse_failure_rate"`
	// SupportedRate: share of answered, non-avoiding episodes whose answer
	// an observation contains; nil when none answered.
	SupportedRate *float64 `json:"supported_rate,omitempty"`
	// UnusedSearchRate: unused searches / searches; nil with no search.
	UnusedSearchRate   *float64 `json:"unused_search_rate,omitempty"`
	DuplicateQueryRate *float64 `json:"duplicate_query_rate,omitempty"` // duplicate searches / searches
	// ThinkWordsPerTurn: reasoning words per turn over all turns (0 when
	// the protocol has no reasoning channel); ThinkRepetition: repeated
	// word 4-grams / 4-grams.
	ThinkWordsPerTurn float64 `json:"think_words_per_turn"`
	ThinkRepetition   float64 `json:"think_repetition"`
	// Cost per question.
	PromptTokens     float64 `json:"prompt_tokens"`
	CompletionTokens float64 `json:"completion_tokens"`
	ToolCalls        float64 `json:"tool_calls"`
	Dollars          float64 `json:"dollars"`
	Seconds          float64 `json:"seconds"`
}

// Summarise aggregates ms; hops[i] is episode i's gold hop count (0 or a
// short slice when unknown).
func Summarise(ms []Measures, hops []int) Summary {
	s := Summary{Episodes: len(ms)}
	if len(ms) == 0 {
		return s
	}
	var turns, malformed, toolTurns, parseFail, searches, unused, dups, thinkWords, ngrams, repeats int
	var answered, supported int
	var hx, hy []float64
	byHop := map[int][2]float64{}
	n := float64(len(ms))
	for i, m := range ms {
		turns += m.Turns
		malformed += m.MalformedTurns
		toolTurns += m.ToolTurns
		parseFail += m.ToolParseFailures
		searches += m.Searches
		unused += m.UnusedSearches
		dups += m.DuplicateQueries
		thinkWords += m.ThinkWords
		ngrams += m.ThinkNgrams
		repeats += m.ThinkRepeats
		if m.Avoided {
			s.AvoidanceRate += 1 / n
		} else {
			answered++
			if m.Supported {
				supported++
			}
		}
		s.PromptTokens += float64(m.PromptTokens) / n
		s.CompletionTokens += float64(m.CompletionTokens) / n
		s.ToolCalls += float64(m.ToolCalls) / n
		s.Dollars += m.Dollars / n
		s.Seconds += m.Seconds / n
		if i < len(hops) && hops[i] > 0 {
			h := byHop[hops[i]]
			byHop[hops[i]] = [2]float64{h[0] + float64(m.Searches), h[1] + 1}
			hx, hy = append(hx, float64(hops[i])), append(hy, float64(m.Searches))
		}
	}
	s.Searches = float64(searches) / n
	s.FormatErrorRate = ratio(malformed, turns)
	s.ToolParseFailureRate = ratio(parseFail, toolTurns)
	s.ThinkWordsPerTurn = ratio(thinkWords, turns)
	s.ThinkRepetition = ratio(repeats, ngrams)
	if answered > 0 {
		s.SupportedRate = ptr(ratio(supported, answered))
	}
	if searches > 0 {
		s.UnusedSearchRate = ptr(ratio(unused, searches))
		s.DuplicateQueryRate = ptr(ratio(dups, searches))
	}
	if len(byHop) > 0 {
		s.SearchesByHops = map[int]float64{}
		for h, v := range byHop {
			s.SearchesByHops[h] = v[0] / v[1]
		}
	}
	if len(byHop) > 1 {
		s.HopSlope = ptr(Slope(hx, hy))
	}
	return s
}

// Slope is the least-squares slope of y on x; NaN when x does not vary.
func Slope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ptr(v float64) *float64 { return &v }
