package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTally(t *testing.T) {
	t.Parallel()
	var tl Tally
	for _, ep := range []*Episode{
		{ID: "a", Status: Answered, Ledger: Ledger{Turns: 3, Searches: 2}},
		{ID: "b", Status: Failed, Reason: "llm: 500", Ledger: Ledger{Turns: 1}},
		{ID: "c", Status: Failed, Reason: "tool: timeout", Ledger: Ledger{Turns: 2, Searches: 1}},
		{ID: "d", Status: Cancelled},
		{ID: "e", Status: OverBudget, Ledger: Ledger{Turns: 4, Searches: 4}},
	} {
		tl.Add(ep)
	}
	want := Tally{Questions: 5, Statuses: map[Status]int{Answered: 1, Failed: 2, Cancelled: 1, OverBudget: 1}, Turns: 10, Searches: 7, FirstFailure: "b: llm: 500"}
	if diff := cmp.Diff(want, tl); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
	if tl.Bad() != 3 {
		t.Errorf("Bad() = %d, want 3 (two failed, one cancelled)", tl.Bad())
	}
	var b strings.Builder
	tl.WriteText(&b)
	const text = "5 episodes: 1 answered, 0 format errors, 1 over budget, 2 failed, 1 cancelled; 10 turns, 7 searches\nfirst failure: b: llm: 500\n"
	if b.String() != text {
		t.Errorf("text %q, want %q", b.String(), text)
	}
}
