package behaviour

import (
	"fmt"
	"slices"
	"strings"
)

// Row is one figure of a Summary as reports show it.
type Row struct {
	Key   string  // stable name, as in summary.json
	Label string  // what a reader sees
	Value float64 // the figure (a share for percentages)
	Known bool    // false when the figure does not apply (no searches, no hops)
	Pct   bool    // shown as a percentage
	Text  string  // a non-scalar figure (searches by hops), shown as is
}

// Format renders the row's value as reports show it.
func (r Row) Format() string {
	switch {
	case r.Text != "":
		return r.Text
	case !r.Known:
		return "–"
	case r.Pct:
		return fmt.Sprintf("%.1f%%", 100*r.Value)
	case r.Value != 0 && (r.Value < 0.01 && r.Value > -0.01):
		return fmt.Sprintf("%.4f", r.Value)
	default:
		return fmt.Sprintf("%.2f", r.Value)
	}
}

// FormatDiff renders b − a in the row's unit ("–" when either is unknown).
func FormatDiff(a, b Row) string {
	if !a.Known || !b.Known || a.Text != "" {
		return "–"
	}
	if a.Pct {
		return fmt.Sprintf("%+.1f pts", 100*(b.Value-a.Value))
	}
	return fmt.Sprintf("%+.2f", b.Value-a.Value)
}

// Rows lists s's figures in the order every report shows them; the same
// rows, in the same order, for any Summary.
func (s Summary) Rows() []Row {
	opt := func(v *float64) (float64, bool) {
		if v == nil {
			return 0, false
		}
		return *v, true
	}
	slope, hasSlope := opt(s.HopSlope)
	sup, hasSup := opt(s.SupportedRate)
	unused, hasUnused := opt(s.UnusedSearchRate)
	dup, hasDup := opt(s.DuplicateQueryRate)
	rows := []Row{
		{Key: "searches", Label: "searches per question", Value: s.Searches, Known: true},
		{Key: "searches_by_hops", Label: "searches per question by gold hops", Text: byHops(s.SearchesByHops)},
		{Key: "hop_slope", Label: "extra searches per extra hop (slope)", Value: slope, Known: hasSlope},
		{Key: "avoidance_rate", Label: "answer avoidance (no answer, unknown, refusal)", Value: s.AvoidanceRate, Known: true, Pct: true},
		{Key: "format_error_rate", Label: "malformed turns", Value: s.FormatErrorRate, Known: true, Pct: true},
		{Key: "tool_parse_failure_rate", Label: "tool calls that failed to parse", Value: s.ToolParseFailureRate, Known: true, Pct: true},
		{Key: "supported_rate", Label: "answers found in a retrieved passage", Value: sup, Known: hasSup, Pct: true},
		{Key: "unused_search_rate", Label: "searches whose results were never used", Value: unused, Known: hasUnused, Pct: true},
		{Key: "duplicate_query_rate", Label: "duplicate queries", Value: dup, Known: hasDup, Pct: true},
		{Key: "think_words_per_turn", Label: "reasoning words per turn", Value: s.ThinkWordsPerTurn, Known: true},
		{Key: "think_repetition", Label: "reasoning repetition (repeated 4-grams)", Value: s.ThinkRepetition, Known: true, Pct: true},
		{Key: "prompt_tokens", Label: "prompt tokens per question", Value: s.PromptTokens, Known: true},
		{Key: "completion_tokens", Label: "completion tokens per question", Value: s.CompletionTokens, Known: true},
		{Key: "tool_calls", Label: "tool calls per question", Value: s.ToolCalls, Known: true},
		{Key: "dollars", Label: "dollars per question", Value: s.Dollars, Known: true},
		{Key: "seconds", Label: "seconds per question", Value: s.Seconds, Known: true},
	}
	return rows
}

func byHops(m map[int]float64) string {
	if len(m) == 0 {
		return "–"
	}
	hs := make([]int, 0, len(m))
	for h := range m {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = fmt.Sprintf("%d: %.2f", h, m[h])
	}
	return strings.Join(parts, ", ")
}
