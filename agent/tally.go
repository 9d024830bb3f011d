package agent

import (
	"fmt"
	"io"
)

// Tally sums up a batch of episodes (`sleuth ask --questions`): how many
// ended in each status, the turns and searches they spent, and the first
// failure in the order they finished. It is not safe for concurrent use.
type Tally struct {
	Questions    int            `json:"questions"`
	Statuses     map[Status]int `json:"statuses"`
	Turns        int            `json:"turns"`
	Searches     int            `json:"searches"`
	FirstFailure string         `json:"first_failure,omitempty"`
}

// Add counts a finished episode.
func (t *Tally) Add(ep *Episode) {
	if t.Statuses == nil {
		t.Statuses = map[Status]int{}
	}
	t.Questions++
	t.Statuses[ep.Status]++
	if ep.Status == Failed && t.FirstFailure == "" {
		t.FirstFailure = ep.ID + ": " + ep.Reason
	}
	t.Turns += ep.Ledger.Turns
	t.Searches += ep.Ledger.Searches
}

// Bad is how many episodes failed or were cancelled: the batch did not
// run as asked.
func (t Tally) Bad() int { return t.Statuses[Failed] + t.Statuses[Cancelled] }

// WriteText prints the tally as a line of counts, and the first failure.
func (t Tally) WriteText(w io.Writer) {
	s := t.Statuses
	fmt.Fprintf(w, "%d episodes: %d answered, %d format errors, %d over budget, %d failed, %d cancelled; %d turns, %d searches\n",
		t.Questions, s[Answered], s[FormatError], s[OverBudget], s[Failed], s[Cancelled], t.Turns, t.Searches)
	if t.FirstFailure != "" {
		fmt.Fprintf(w, "first failure: %s\n", t.FirstFailure)
	}
}
