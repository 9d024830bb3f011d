package rl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
)

func f64(v float64) *float64 { return &v }

// healthyBehaviour is a policy that searches once per hop, rarely avoids
// answering and reasons at length without repeating itself.
func healthyBehaviour() *behaviour.Summary {
	return &behaviour.Summary{Episodes: 32, SearchesByHops: map[int]float64{1: 1, 2: 2, 3: 3}, HopSlope: f64(1),
		AvoidanceRate: 0.05, ThinkWordsPerTurn: 20, ThinkRepetition: 0.05}
}

// TestBehaviourHealth: constructed drifts raise their warning once, after
// BehaviourPatient steps; a one-step blip and a reasoning collapse while
// the reward falls too (another alarm's business) raise none.
func TestBehaviourHealth(t *testing.T) {
	tests := []struct {
		name   string
		drift  func(*StepStats)
		blip   bool // drift one step only
		want   string
		wantAt int
	}{
		{name: "search flattens across hops", drift: func(s *StepStats) {
			s.Behaviour.SearchesByHops, s.Behaviour.HopSlope = map[int]float64{1: 1.5, 2: 1.6, 3: 1.6}, f64(0.05)
		}, want: "hop_flattening", wantAt: 5},
		{name: "answer avoidance rises", drift: func(s *StepStats) { s.Behaviour.AvoidanceRate = 0.4 }, want: "answer_avoidance", wantAt: 5},
		{name: "reasoning shrinks while reward holds", drift: func(s *StepStats) { s.Behaviour.ThinkWordsPerTurn = 3 }, want: "reasoning_collapse", wantAt: 5},
		{name: "reasoning loops while reward holds", drift: func(s *StepStats) { s.Behaviour.ThinkRepetition = 0.7; s.Reward = 0.52 }, want: "reasoning_collapse", wantAt: 5},
		{name: "reasoning shrinks with the reward", drift: func(s *StepStats) { s.Behaviour.ThinkWordsPerTurn = 3; s.Reward = 0.1 }},
		{name: "one-step blip", drift: func(s *StepStats) { s.Behaviour.AvoidanceRate = 0.5 }, blip: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Health
			step := func(i int, drift bool) []Warning {
				st := StepStats{Step: i, Reward: 0.5, Entropy: 1, ResponseLen: 50, Searches: 2, KL: 0.001, Behaviour: healthyBehaviour()}
				if drift {
					tc.drift(&st)
				}
				return h.Observe(st)
			}
			for i := range 4 {
				if ws := step(i, false); len(ws) > 0 {
					t.Fatalf("healthy step %d warned: %v", i, ws)
				}
			}
			var got []Warning
			for i := 4; i < 9; i++ {
				got = append(got, step(i, !tc.blip || i == 4)...)
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Fatalf("warnings %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != tc.want || got[0].Step != tc.wantAt || got[0].Saw == "" || got[0].Remedy == "" {
				t.Fatalf("warnings %v, want one %s at step %d", got, tc.want, tc.wantAt)
			}
			t.Log(got[0])
		})
	}
}

// TestStepBehaviour: a step's episodes are labelled with their sample's
// hops (group episodes per sample, in order) and summarised by package
// behaviour.
func TestStepBehaviour(t *testing.T) {
	ep := func(searches int) *agent.Episode {
		return &agent.Episode{Status: agent.Answered, Answer: "x", Ledger: agent.Ledger{Searches: searches}}
	}
	eps := []*agent.Episode{ep(1), ep(1), ep(2), ep(4)}
	b := stepBehaviour(eps, []Sample{{Hops: 1}, {Hops: 2}}, 2)
	if b == nil || b.Episodes != 4 || b.HopSlope == nil {
		t.Fatalf("behaviour %+v", b)
	}
	// (1,1) (1,1) (2,2) (2,4): by hops 1 and 3; slope 2.
	if d := cmp.Diff(map[int]float64{1: 1, 2: 3}, b.SearchesByHops); d != "" || *b.HopSlope != 2 {
		t.Errorf("by hops (-want +got):\n%s slope %v", d, *b.HopSlope)
	}
}

// TestBehaviourCurvesInReport: the behaviour curves and a warning fired by
// a constructed drift reach the training report, as the training command
// draws it from the logged StepStats.
func TestBehaviourCurvesInReport(t *testing.T) {
	var h Health
	curves := map[string]*Series{}
	var order []string
	var warnings []Warning
	for i := range 10 {
		st := StepStats{Step: i, Reward: 0.5, Entropy: 1, ResponseLen: 50, Searches: 2, Behaviour: healthyBehaviour()}
		if i >= 5 { // the policy stops telling hop counts apart
			st.Behaviour.SearchesByHops, st.Behaviour.HopSlope = map[int]float64{1: 1.8, 2: 1.9, 3: 1.9}, f64(0.05)
		}
		warnings = append(warnings, h.Observe(st)...)
		for _, p := range BehaviourCurvePoints(st) {
			s, ok := curves[p.Name]
			if !ok {
				s = &Series{Name: p.Name}
				curves[p.Name] = s
				order = append(order, p.Name)
			}
			s.Steps, s.Values = append(s.Steps, i), append(s.Values, p.Value)
		}
	}
	want := []string{"rl searches per episode, 1-hop questions", "rl searches per episode, 2-hop questions", "rl searches per episode, 3-hop questions",
		"rl extra searches per extra hop", "rl answer avoidance", "rl malformed turns", "rl reasoning words per turn", "rl reasoning repetition"}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("curves (-want +got):\n%s", d)
	}
	rep := Report{Title: "behaviour", Warnings: warnings}
	for _, n := range order {
		rep.Curves = append(rep.Curves, *curves[n])
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteReport(path, rep); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"rl extra searches per extra hop", "rl searches per episode, 3-hop questions", "hop_flattening"} {
		if !strings.Contains(string(html), w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if len(warnings) != 1 || warnings[0].Kind != "hop_flattening" || warnings[0].Step != 6 {
		t.Errorf("warnings %v, want hop_flattening at step 6", warnings)
	}
}
