package reward

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sleuth-research/sleuth/agent"
)

// episode is a four-turn episode: three searches (the second repeats the
// first after normalisation) and an answer citing one gold and one
// non-gold passage. Gold passages are g1 and g2.
func episode() *agent.Episode {
	hits := func(ids ...string) []agent.ToolCall {
		var hs []agent.HitRef
		for _, id := range ids {
			hs = append(hs, agent.HitRef{ID: id})
		}
		return []agent.ToolCall{{Tool: "search", Hits: hs}}
	}
	return &agent.Episode{
		Question: "Which band?",
		Turns: []agent.Turn{
			{Index: 0, Action: agent.Action{Kind: "search", Query: "who founded X"}, Calls: hits("p1", "g1")},
			{Index: 1, Action: agent.Action{Kind: "search", Query: "Who founded X?"}, Calls: hits("g1", "p2")},
			{Index: 2, Action: agent.Action{Kind: "search", Query: "other"}, Calls: hits("g2")},
			{Index: 3, Action: agent.Action{Kind: "answer", Answer: "The Beatles", Evidence: []string{"g1", "p1"}}},
		},
		Answer:    "The Beatles",
		Evidence:  []string{"g1", "p1"},
		Retrieved: []agent.HitRef{{ID: "p1"}, {ID: "g1"}, {ID: "p2"}, {ID: "g2"}},
		Queries:   []string{"who founded X", "Who founded X?", "other"},
		Status:    agent.Answered,
		Ledger:    agent.Ledger{Turns: 4, Searches: 3, FetchedBytes: 2_500_000, Dollars: 0.02, Wall: 3 * time.Second},
	}
}

// planned is episode() with plan as its first thought.
func planned(plan string) *agent.Episode {
	ep := episode()
	ep.Turns[0].Action.Think = plan
	return ep
}

var gold = Gold{Question: "Which band?", Answers: []string{"Beatles"}, Supporting: []string{"g1", "g2"}}

func malformed() *agent.Episode {
	ep := episode()
	ep.FormatErrors = 1
	ep.Turns[1].Action.Error = "two queries"
	return ep
}

func score(t *testing.T, f Func, ep *agent.Episode, g Gold) Score {
	t.Helper()
	s, err := f.Score(context.Background(), ep, g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var approx = cmpopts.EquateApprox(0, 1e-12)

func TestComponents(t *testing.T) {
	l2 := math.Log2
	noGold := Gold{Answers: []string{"Beatles"}}
	tests := []struct {
		name string
		f    Func
		ep   *agent.Episode
		g    Gold
		want Score
	}{
		{"format ok", Format{}, episode(), gold, Score{Total: 1, Components: []Component{{"format", 1}}}},
		{"format error", Format{}, malformed(), gold, Score{Total: 0, Components: []Component{{"format", 0}}}},
		{"answer f1", Answer{}, episode(), gold, Score{Total: 1, Components: []Component{{"answer_em", 1}, {"answer_f1", 1}, {"answer_cover_em", 1}}}},
		{"answer em wrong", Answer{Metric: MetricEM}, episode(), Gold{Answers: []string{"Rolling Stones"}},
			Score{Total: 0, Components: []Component{{"answer_em", 0}, {"answer_f1", 0}, {"answer_cover_em", 0}}}},
		{"evidence", Evidence{}, episode(), gold, Score{Total: 0.5, Components: []Component{
			{"evidence_precision", 0.5}, {"evidence_recall", 0.5}, {"evidence_f1", 0.5}}}},
		{"evidence no gold", Evidence{}, episode(), noGold, Score{}},
		// top 3 = p1 g1 p2: one of two gold, at rank 2.
		{"retrieval@3", Retrieval{K: 3}, episode(), gold, Score{Total: (1 / l2(3)) / (1 + 1/l2(3)),
			Components: []Component{{"retrieval_recall", 0.5}, {"retrieval_ndcg", (1 / l2(3)) / (1 + 1/l2(3))}}}},
		{"retrieval all recall", Retrieval{Metric: "recall"}, episode(), gold, Score{Total: 1,
			Components: []Component{{"retrieval_recall", 1}, {"retrieval_ndcg", (1/l2(3) + 1/l2(5)) / (1 + 1/l2(3))}}}},
		// g1 first seen in turn 0, g2 in turn 2.
		{"progress", Progress{}, episode(), gold, Score{Total: 1, Components: []Component{{"progress", 1}}, PerTurn: []float64{0.5, 0, 0.5, 0}}},
		// turn 1 finds only g1 again: idle; turn 2 finds g2: not.
		{"progress idle", Progress{Idle: 0.1}, episode(), gold, Score{Total: 0.9, Components: []Component{{"progress", 1}, {"idle_searches", -0.1}},
			PerTurn: []float64{0.5, -0.1, 0.5, 0}}},
		// three searches for two gold passages: the third (turn 2) is
		// excess although it finds g2; turn 1's idle search is not.
		{"progress excess", Progress{Excess: 0.2}, episode(), gold, Score{Total: 0.8, Components: []Component{{"progress", 1}, {"excess_searches", -0.2}},
			PerTurn: []float64{0.5, 0, 0.3, 0}}},
		// The same searches with the answer right (gold: Beatles) cost
		// nothing under ExcessIfWrong, and the charge again when wrong.
		{"progress excess, answer right", Progress{Excess: 0.2, ExcessIfWrong: true}, episode(), gold, Score{Total: 1,
			Components: []Component{{"progress", 1}, {"excess_searches", 0}}, PerTurn: []float64{0.5, 0, 0.5, 0}}},
		{"progress excess, answer wrong", Progress{Excess: 0.2, ExcessIfWrong: true}, episode(), Gold{Answers: []string{"Rolling Stones"}, Supporting: gold.Supporting},
			Score{Total: 0.8, Components: []Component{{"progress", 1}, {"excess_searches", -0.2}}, PerTurn: []float64{0.5, 0, 0.3, 0}}},
		{"progress no gold", Progress{}, episode(), noGold, Score{PerTurn: []float64{0, 0, 0, 0}}},
		{"turns", TurnPenalty{Free: 2, Per: 0.1}, episode(), gold, Score{Total: -0.2, Components: []Component{{"turn_penalty", -0.2}}}},
		{"repeats", RepeatPenalty{Per: 0.5}, episode(), gold, Score{Total: -0.5, Components: []Component{{"repeat_penalty", -0.5}}}},
		// 3 searches × 0.01, 2.5 MB × 0.1, $0.02 × 1, 3 s × 0.01.
		{"cost", CostPenalty{PerSearch: 0.01, PerMB: 0.1, PerDollar: 1, PerSecond: 0.01}, episode(), gold, Score{Total: -0.33,
			Components: []Component{{"cost_penalty", -0.33}, {"cost_searches", -0.03}, {"cost_fetched", -0.25}, {"cost_dollars", -0.02}, {"cost_latency", -0.03}}}},
		{"gate open", Gate{Cond: Format{}, Then: Answer{}, Else: -1}, episode(), gold, Score{Total: 1, Components: []Component{
			{"format", 1}, {"gate", 1}, {"answer_em", 1}, {"answer_f1", 1}, {"answer_cover_em", 1}}}},
		{"gate shut (DeepResearcher)", Gate{Cond: Format{}, Then: Answer{}, Else: -1}, malformed(), gold, Score{Total: -1,
			Components: []Component{{"format", 0}, {"gate", 0}}}},
		{"weighted", Weighted{Terms: []Term{{"f1", Const(1), Answer{}}, {"ev", Const(0.5), Evidence{}}, {"rep", Const(1), RepeatPenalty{Per: 0.1}}}},
			episode(), gold, Score{Total: 1 + 0.25 - 0.1, Components: []Component{
				{"answer_em", 1}, {"answer_f1", 1}, {"answer_cover_em", 1}, {"w:f1", 1},
				{"evidence_precision", 0.5}, {"evidence_recall", 0.5}, {"evidence_f1", 0.5}, {"w:ev", 0.25},
				{"repeat_penalty", -0.1}, {"w:rep", -0.1}}}},
		{"weighted per turn", Weighted{Terms: []Term{{"p", Const(2), Progress{}}}}, episode(), gold,
			Score{Total: 2, Components: []Component{{"progress", 1}, {"w:p", 2}}, PerTurn: []float64{1, 0, 1, 0}}},
		// A two-step plan and three searches: the third strays (turn 2).
		{"plan over", PlanPenalty{Per: 0.2}, planned("I need the founder of X, then its label."), gold, Score{Total: -0.2,
			Components: []Component{{"plan_penalty", -0.2}}, PerTurn: []float64{0, 0, -0.2, 0}}},
		// A four-step plan and three searches: the answer comes too soon.
		{"plan under", PlanPenalty{Per: 0.2, Then: "; "}, planned("a; b; c; d"), gold, Score{Total: -0.2,
			Components: []Component{{"plan_penalty", -0.2}}, PerTurn: []float64{0, 0, 0, -0.2}}},
		{"plan kept", PlanPenalty{Per: 0.2}, planned("I need A, then B, then C."), gold, Score{
			Components: []Component{{"plan_penalty", 0}}, PerTurn: []float64{0, 0, 0, 0}}},
		{"no plan", PlanPenalty{Per: 0.2}, episode(), gold, Score{Components: []Component{{"plan_penalty", 0}}, PerTurn: []float64{0, 0, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, score(t, tt.f, tt.ep, tt.g), approx, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	lin := Schedule{Kind: "linear", From: 1, To: 0, Start: 100, End: 300}
	step := Schedule{Kind: "step", From: 0.1, Points: []StepPoint{{10, 0.5}, {20, 1}}}
	tests := []struct {
		s    Schedule
		step int
		want float64
	}{
		{lin, 0, 1}, {lin, 100, 1}, {lin, 150, 0.75}, {lin, 300, 0}, {lin, 1000, 0},
		{step, 0, 0.1}, {step, 10, 0.5}, {step, 19, 0.5}, {step, 25, 1},
		{Const(2), 7, 2},
	}
	for _, tt := range tests {
		if got := tt.s.At(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s at %d = %v, want %v", tt.s.Kind, tt.step, got, tt.want)
		}
	}
	// ARENA-style: the retrieval weight fades while the answer weight stays.
	f := Weighted{Terms: []Term{{"f1", Const(1), Answer{}}, {"ret", lin, Retrieval{Metric: "recall"}}}}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 2}, {200, 1.5}, {400, 1}} {
		if got := score(t, AtStep(f, c.step), episode(), gold).Total; math.Abs(got-c.want) > 1e-12 {
			t.Errorf("step %d: total %v, want %v", c.step, got, c.want)
		}
	}
	if err := (Schedule{Kind: "linear", Start: 5, End: 5}).Validate(); err == nil {
		t.Error("empty linear range accepted")
	}
	if err := (Schedule{Kind: "cosine"}).Validate(); err == nil {
		t.Error("unknown kind accepted")
	}
}

// mmoa is a three-role episode: the rewriter asks five sub-questions, the
// selector cites g1 twice, the generator answers in twelve words.
func mmoa() *agent.Episode {
	ep := &agent.Episode{Answer: "The Beatles", Status: agent.Answered}
	for range 5 {
		ep.Turns = append(ep.Turns, agent.Turn{Role: "rewriter", Action: agent.Action{Kind: "search", Query: "q"}})
	}
	ep.Turns = append(ep.Turns,
		agent.Turn{Role: "selector", Action: agent.Action{Kind: "select", Evidence: []string{"g1", "g1"}}},
		agent.Turn{Role: "generator", Action: agent.Action{Kind: "answer", Answer: "it was the Beatles a band from Liverpool in England formed 1960"}})
	return ep
}

func TestRoles(t *testing.T) {
	r := Roles{Shared: Answer{}, Penalties: []RolePenalty{
		{Role: "rewriter", MaxSearches: 4, TooManySearches: 0.5, FormatError: 1},
		{Role: "selector", DuplicateEvidence: 1, FormatError: 1},
		{Role: "generator", MaxAnswerWords: 10, LongAnswer: 0.5},
	}}
	tests := []struct {
		name string
		ep   *agent.Episode
		want map[string]float64
	}{
		{"all penalised", mmoa(), map[string]float64{"rewriter": 0.5, "selector": 0, "generator": 0.5}},
		{"clean", func() *agent.Episode {
			ep := mmoa()
			ep.Turns = ep.Turns[1:]                                  // four searches: within the limit
			ep.Turns[4].Action.Evidence = []string{"g1", "g2"}       // no duplicate
			ep.Turns[5].Action.Answer = "the Beatles"                // short
			ep.Turns = append(ep.Turns, agent.Turn{Role: "checker"}) // a role without penalties shares the reward
			return ep
		}(), map[string]float64{"rewriter": 1, "selector": 1, "generator": 1, "checker": 1}},
		{"five sub-questions in one turn", func() *agent.Episode {
			ep := mmoa()
			var calls []agent.Call
			for range 5 {
				calls = append(calls, agent.Call{Tool: "search", Input: "q"})
			}
			ep.Turns = append([]agent.Turn{{Role: "rewriter", Action: agent.Action{Kind: "search", Calls: calls}}}, ep.Turns[5:]...)
			return ep
		}(), map[string]float64{"rewriter": 0.5, "selector": 0, "generator": 0.5}},
		{"malformed rewriter", func() *agent.Episode {
			ep := mmoa()
			ep.Turns[0].Action.Error = "bad tag"
			return ep
		}(), map[string]float64{"rewriter": -0.5, "selector": 0, "generator": 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := score(t, r, tt.ep, gold)
			if s.Total != 1 {
				t.Errorf("shared total %v, want 1", s.Total)
			}
			if d := cmp.Diff(tt.want, s.Roles, approx); d != "" {
				t.Errorf("roles (-want +got):\n%s", d)
			}
		})
	}
}
