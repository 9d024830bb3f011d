package behaviour

import (
	"strings"
	"testing"
)

func TestWriteTableAndDiff(t *testing.T) {
	a := Summarise([]Measures{{}}, []int{2})
	b := Summarise([]Measures{{}, {}}, []int{2, 3})
	var tb strings.Builder
	WriteTable(&tb, &a)
	WriteTable(&tb, nil) // nothing for a run without behaviour
	rows := a.Rows()
	if got := strings.Count(tb.String(), "\n"); got != len(rows)+1 || !strings.HasPrefix(tb.String(), "behaviour (all questions)") {
		t.Errorf("table of %d lines for %d rows:\n%s", got, len(rows), tb.String())
	}
	var db strings.Builder
	WriteDiff(&db, &a, &b)
	if got := strings.Count(db.String(), "\n"); got != len(rows)+1 || !strings.Contains(db.String(), "B − A") {
		t.Errorf("diff of %d lines for %d rows:\n%s", got, len(rows), db.String())
	}
	db.Reset()
	WriteDiff(&db, &a, nil)
	if !strings.Contains(db.String(), "not recorded in both runs") {
		t.Errorf("diff without B: %q", db.String())
	}
}
