package densebench

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/search/dense"
)

// TestRunSyntheticAndReuse builds a small synthetic index, exports it, and
// measures it again with Reuse: both runs find most of the exact top k,
// and the reused run reads back the exported queries.
func TestRunSyntheticAndReuse(t *testing.T) {
	dir, exp := filepath.Join(t.TempDir(), "ix"), t.TempDir()
	o := Options{Set: "synthetic", N: 3000, Dim: 16, Clusters: 30, Queries: 20, K: 5,
		Dir: dir, Export: exp, Probes: []int{0}, Rescores: []int{0}}
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Vectors != 3000 || rep.Queries != 20 || len(rep.Runs) != 1 || rep.Runs[0].Recall < 0.5 {
		t.Fatalf("report %+v", rep)
	}
	o.Reuse, o.Queries = true, 10
	again, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Queries != 10 || again.Vectors != 3000 || again.Runs[0].Recall < 0.5 || len(again.Notes) == 0 {
		t.Fatalf("reused report %+v", again)
	}
	var b strings.Builder
	again.WriteText(&b)
	if !strings.Contains(b.String(), "reused the index") {
		t.Errorf("text report lacks the reuse note:\n%s", b.String())
	}
}

func TestRecallAgainst(t *testing.T) {
	exact := [][]dense.Scored{{{Doc: 1}, {Doc: 2}}, {{Doc: 3}, {Doc: 4}}}
	got := [][]dense.Scored{{{Doc: 2}, {Doc: 9}}, {{Doc: 4}, {Doc: 3}}}
	if r := recallAgainst(exact, got, 2); r != 0.75 {
		t.Errorf("recall %v, want 0.75", r)
	}
}
