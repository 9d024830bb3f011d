package train

import (
	"math"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/eval"
)

// TestBuildTable checks the table's arithmetic on a hand-built fixture:
// four questions (1, 2, 2, 3 hops) answered by each policy.
func TestBuildTable(t *testing.T) {
	hops := []int{1, 2, 2, 3}
	res := func(em []float64, searches []int) []eval.Result {
		out := make([]eval.Result, len(em))
		for i := range em {
			out[i] = eval.Result{ID: string(rune('a' + i)), Hops: hops[i], EM: em[i], F1: em[i], Searches: searches[i]}
		}
		return out
	}
	rows := []PolicyRow{
		rowOf("none", "none", res([]float64{0, 0, 0, 0}, []int{1, 1, 1, 1})),
		rowOf("once", "once", res([]float64{1, 1, 0, 0}, []int{1, 1, 1, 1})),
		rowOf("sft", "sft", res([]float64{1, 0, 0, 0}, []int{1, 1, 2, 2})),
		rowOf("best", "best-sft", res([]float64{1, 1, 0, 0}, []int{1, 2, 2, 2})),
		rowOf("rl", "rl", res([]float64{1, 1, 1, 1}, []int{1, 2, 2, 3})),
	}
	tb, err := buildTable(SplitTest, 501, rows)
	if err != nil {
		t.Fatal(err)
	}
	rl := tb.Policies[4]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	checks := []struct {
		what      string
		got, want float64
	}{
		{"RL EM", rl.EM.Mean, 1},
		{"RL correct", float64(rl.Correct), 4},
		{"RL multi-hop correct", float64(rl.MultiHopCorrect), 3},
		{"RL multi-hop questions", float64(rl.MultiHop), 3},
		{"RL searches on 2 hops", rl.Searches["2"], 2},
		{"RL searches on 3 hops", rl.Searches["3"], 3},
		{"SFT searches on 2 hops", tb.Policies[2].Searches["2"], 1.5},
		{"SFT EM on 1 hop", tb.Policies[2].EMByHops["1"], 1},
		{"retrieve-once multi-hop EM", tb.Policies[1].MultiHopEM.Mean, 1.0 / 3},
		{"RL − SFT on 2–3 hops", tb.GRPOMinusSFT.Diff.Mean, 1},       // (3−0)/3
		{"RL ÷ retrieve-once on 2–3 hops", tb.RLOverRetrieveOnce, 3}, // 1 ÷ 1/3
		{"RL − best SFT overall", tb.RLMinusBestSFT.Diff.Mean, 0.5},  // (4−2)/4
		{"best-SFT multi-hop correct", float64(tb.Policies[3].MultiHopCorrect), 1},
		{"1-hop comparisons", float64(len(tb.OneHop)), 4},
		{"SFT − once on 1 hop", tb.OneHop[0].Paired.Diff.Mean, 0}, // both right on the one 1-hop question
		{"SFT − none on 1 hop", tb.OneHop[1].Paired.Diff.Mean, 1},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if d := tb.GRPOMinusSFT.Diff; d.Lo > d.Mean || d.Hi < d.Mean {
		t.Errorf("interval %+v does not hold its mean", d)
	}
	var sb strings.Builder
	PrintTable(&sb, tb)
	for _, want := range []string{"test world (seed 501)", "3/3", "RL − best SFT on every question: +50.0 points", "RL ÷ retrieve-once there: 3.00×", "sft − none +100.0"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("printed table lacks %q:\n%s", want, sb.String())
		}
	}
}
