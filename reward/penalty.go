package reward

import (
	"context"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
)

// Penalties are Funcs whose Total is zero or negative, so that a weighted
// sum with positive weights subtracts them.

// TurnPenalty charges Per for every turn beyond Free.
type TurnPenalty struct {
	Free int
	Per  float64
}

func (p TurnPenalty) Score(_ context.Context, ep *agent.Episode, _ Gold) (Score, error) {
	n := max(len(ep.Turns), ep.Ledger.Turns)
	v := -p.Per * float64(max(0, n-p.Free))
	return Score{Total: v, Components: []Component{{"turn_penalty", v}}}, nil
}

// RepeatPenalty charges Per for every query that normalises (as answers
// do: case, punctuation, articles, whitespace) to one asked before in the
// episode.
type RepeatPenalty struct{ Per float64 }

// Repeats counts the queries that repeat an earlier one after Normalize.
func Repeats(queries []string) int {
	seen := make(map[string]bool, len(queries))
	n := 0
	for _, q := range queries {
		k := Normalize(q)
		if seen[k] {
			n++
		}
		seen[k] = true
	}
	return n
}

func (p RepeatPenalty) Score(_ context.Context, ep *agent.Episode, _ Gold) (Score, error) {
	v := -p.Per * float64(Repeats(ep.Queries))
	return Score{Total: v, Components: []Component{{"repeat_penalty", v}}}, nil
}

// CostPenalty charges for what the episode consumed, from its ledger: per
// search, per megabyte (10^6 bytes) fetched, per dollar, and per second of
// wall time. Each part is a component.
type CostPenalty struct {
	PerSearch float64
	PerMB     float64
	PerDollar float64
	PerSecond float64
}

func (p CostPenalty) Score(_ context.Context, ep *agent.Episode, _ Gold) (Score, error) {
	l := ep.Ledger
	parts := []Component{
		{"cost_searches", -p.PerSearch * float64(l.Searches)},
		{"cost_fetched", -p.PerMB * float64(l.FetchedBytes) / 1e6},
		{"cost_dollars", -p.PerDollar * l.Dollars},
		{"cost_latency", -p.PerSecond * l.Wall.Seconds()},
	}
	var s Score
	for _, c := range parts {
		s.Total += c.Value
	}
	s.Components = append([]Component{{"cost_penalty", s.Total}}, parts...)
	return s, nil
}

// PlanPenalty charges Per for each search beyond the plan the policy
// wrote in its first thought, and Per once when it answers with fewer
// searches than that plan has steps, each at the turn that strays. A
// plan's steps are its clauses joined by Then (", then " by default: the
// quickstart's teacher writes "I need the R1 of S, then its R2."). The
// plan is the policy's own text, so the term needs no gold: it rewards
// doing what the policy said it would, which is the decision RL fails to
// make depend on the question (BENCHMARKS.md, "Session 12"). An episode
// whose first turn is not a search with a thought is not charged.
type PlanPenalty struct {
	Per  float64
	Then string
}

func (p PlanPenalty) Score(_ context.Context, ep *agent.Episode, _ Gold) (Score, error) {
	out := Score{PerTurn: make([]float64, len(ep.Turns))}
	then := p.Then
	if then == "" {
		then = ", then "
	}
	if len(ep.Turns) == 0 || ep.Turns[0].Action.Kind != agent.ActionSearch || ep.Turns[0].Action.Think == "" {
		out.Components = []Component{{"plan_penalty", 0}}
		return out, nil
	}
	steps := 1 + strings.Count(ep.Turns[0].Action.Think, then)
	searches := 0
	for i, t := range ep.Turns {
		switch t.Action.Kind {
		case agent.ActionSearch:
			if searches++; searches > steps {
				out.PerTurn[i] -= p.Per
			}
		case agent.ActionAnswer:
			if searches < steps {
				out.PerTurn[i] -= p.Per
			}
		}
	}
	for _, v := range out.PerTurn {
		out.Total += v
	}
	out.Components = []Component{{"plan_penalty", out.Total}}
	return out, nil
}
