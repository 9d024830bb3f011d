package behaviour

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sleuth-research/sleuth/agent"
)

func search(think, query, obs string) agent.Turn {
	return agent.Turn{Action: agent.Action{Kind: "search", Query: query, Think: think},
		Calls: []agent.ToolCall{{Tool: "search", Input: query, Observation: obs}}}
}

func answer(think, ans string) agent.Turn {
	return agent.Turn{Action: agent.Action{Kind: "answer", Answer: ans, Think: think}}
}

// episodes are four hand-built episodes whose figures are worked out by
// hand in the comments of TestMeasure and TestSummarise.
func episodes() []*agent.Episode {
	a := &agent.Episode{ID: "a", Question: "Where was the founder of Varnel Labs born?", Status: agent.Answered, Answer: "Tarsk",
		Queries: []string{"Varnel Labs founder", "Ada Quill born"},
		Turns: []agent.Turn{
			search("I need the founder of Varnel Labs first.", "Varnel Labs founder", "Doc 1(Title: Varnel Labs) Varnel Labs was founded by Ada Quill.\n"),
			search("Ada Quill founded it. Now her birthplace.", "Ada Quill born", "Doc 1(Title: Ada Quill) Ada Quill was born in Tarsk.\n"),
			answer("Tarsk.", "Tarsk"),
		},
		Ledger: agent.Ledger{Searches: 2, ToolCalls: 2, PromptTokens: 100, CompletionTokens: 40, Wall: 2 * time.Second, Dollars: 0.01}}
	b := &agent.Episode{ID: "b", Question: "Who founded Varnel Labs?", Status: agent.Answered, Answer: "Ada Quill",
		Queries: []string{"weather today", "Weather today!"},
		Turns: []agent.Turn{
			search("Let me search the weather today now.", "weather today", "Doc 1(Title: Weather) Rain is expected.\n"),
			search("Let me search the weather today now.", "Weather today!", "Doc 1(Title: Weather) Rain is expected.\n"),
			answer("", "Ada Quill"),
		},
		Ledger: agent.Ledger{Searches: 2, ToolCalls: 2, PromptTokens: 200, CompletionTokens: 60, Wall: 4 * time.Second}}
	c := &agent.Episode{ID: "c", Question: "Which river flows through the birthplace of the founder of Varnel Labs?", Status: agent.Answered, Answer: "I don't know.",
		Turns: []agent.Turn{
			{Action: agent.Action{Kind: "none", Error: "no <search> or <answer>"}},
			answer("", "I don't know."),
		},
		Ledger: agent.Ledger{PromptTokens: 50, CompletionTokens: 20, Wall: time.Second}}
	d := &agent.Episode{ID: "d", Question: "Who?", Status: agent.OverBudget,
		Queries: []string{"x"},
		Turns:   []agent.Turn{search("", "x", "nothing here\n")},
		Ledger:  agent.Ledger{Searches: 1, ToolCalls: 1, PromptTokens: 30, CompletionTokens: 0, Wall: time.Second}}
	return []*agent.Episode{a, b, c, d}
}

func TestMeasure(t *testing.T) {
	eps := episodes()
	want := []Measures{
		// a: the first search's "Ada", "Quill" reach the second query (used);
		// the second contains the answer. Think: 8 + 7 + 1 words, 5 + 4 + 0
		// 4-grams, none repeated.
		{Searches: 2, Turns: 3, ToolTurns: 2, Supported: true, ThinkTurns: 3, ThinkWords: 16, ThinkNgrams: 9,
			PromptTokens: 100, CompletionTokens: 40, ToolCalls: 2, Dollars: 0.01, Seconds: 2},
		// b: two decorative searches (nothing from them reaches the answer),
		// the second a duplicate after normalisation; its thought repeats
		// the first turn's 4 4-grams.
		{Searches: 2, Turns: 3, ToolTurns: 2, UnusedSearches: 2, DuplicateQueries: 1, ThinkTurns: 2, ThinkWords: 14, ThinkNgrams: 8, ThinkRepeats: 4,
			PromptTokens: 200, CompletionTokens: 60, ToolCalls: 2, Seconds: 4},
		// c: a malformed turn (a failed tool attempt), then an avoiding answer.
		{Avoided: true, Turns: 2, MalformedTurns: 1, ToolTurns: 1, ToolParseFailures: 1, PromptTokens: 50, CompletionTokens: 20, Seconds: 1},
		// d: out of budget, no answer: avoided; its one search unused.
		{Searches: 1, Avoided: true, Turns: 1, ToolTurns: 1, UnusedSearches: 1, PromptTokens: 30, ToolCalls: 1, Seconds: 1},
	}
	for i, ep := range eps {
		if d := cmp.Diff(want[i], Measure(ep)); d != "" {
			t.Errorf("episode %s (-want +got):\n%s", ep.ID, d)
		}
	}
}

func TestSummarise(t *testing.T) {
	var ms []Measures
	for _, ep := range episodes() {
		ms = append(ms, Measure(ep))
	}
	f := func(v float64) *float64 { return &v }
	want := Summary{
		Episodes: 4,
		// hops 2, 1, 3 (d unknown): searches 2, 2, 0; slope of (1,2) (2,2)
		// (3,0): mean (2, 4/3), Σdx·dy = −2, Σdx² = 2, so −1.
		SearchesByHops: map[int]float64{1: 2, 2: 2, 3: 0}, HopSlope: f(-1),
		Searches:        5.0 / 4,
		AvoidanceRate:   0.5,     // c and d
		FormatErrorRate: 1.0 / 9, // one malformed turn of 3+3+2+1
		// one failed attempt of 2+2+1+1 tool turns
		ToolParseFailureRate: 1.0 / 6,
		SupportedRate:        f(0.5), // a of a and b (c and d avoided)
		UnusedSearchRate:     f(3.0 / 5),
		DuplicateQueryRate:   f(1.0 / 5),
		ThinkWordsPerTurn:    30.0 / 9,
		ThinkRepetition:      4.0 / 17,
		PromptTokens:         95, CompletionTokens: 30, ToolCalls: 5.0 / 4, Dollars: 0.0025, Seconds: 2,
	}
	got := Summarise(ms, []int{2, 1, 3, 0})
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if s := Summarise(ms[:1], []int{2}); s.HopSlope != nil || s.UnusedSearchRate == nil || *s.UnusedSearchRate != 0 {
		t.Errorf("one hop count: slope %v (want none), unused rate %v (want 0)", s.HopSlope, s.UnusedSearchRate)
	}
	if s := Summarise(nil, nil); s.Episodes != 0 || s.SupportedRate != nil {
		t.Errorf("no episodes: %+v", s)
	}
}

func TestAvoidance(t *testing.T) {
	for ans, want := range map[string]bool{
		"": true, "Unknown": true, "I don't know.": true, "N/A": true, "Cannot be determined": true, "I cannot answer that": true,
		"Sorry, no idea": true, "no": false, "None of the above": false, "Paris": false, "unknown soldier": false, "Canada": false,
	} {
		if got := Avoidance(ans); got != want {
			t.Errorf("Avoidance(%q) = %v, want %v", ans, got, want)
		}
	}
	if !math.IsNaN(Slope([]float64{1, 1}, []float64{1, 2})) {
		t.Error("slope of a constant x is not NaN")
	}
}

func TestRows(t *testing.T) {
	var ms []Measures
	for _, ep := range episodes() {
		ms = append(ms, Measure(ep))
	}
	s := Summarise(ms, []int{2, 1, 3, 0})
	got := map[string]string{}
	for _, r := range s.Rows() {
		got[r.Key] = r.Format()
	}
	for k, want := range map[string]string{
		"searches": "1.25", "searches_by_hops": "1: 2.00, 2: 2.00, 3: 0.00", "hop_slope": "-1.00", "avoidance_rate": "50.0%",
		"unused_search_rate": "60.0%", "dollars": "0.0025", "think_repetition": "23.5%",
	} {
		if got[k] != want {
			t.Errorf("row %s = %q, want %q", k, got[k], want)
		}
	}
	none := Summarise(ms[2:3], nil).Rows() // no search, no hops
	for _, r := range none {
		if r.Key == "unused_search_rate" && r.Format() != "–" {
			t.Errorf("unused searches without searches: %q", r.Format())
		}
	}
	a, b := Row{Value: 0.25, Known: true, Pct: true}, Row{Value: 0.5, Known: true, Pct: true}
	if d := FormatDiff(a, b); d != "+25.0 pts" {
		t.Errorf("diff %q", d)
	}
}
