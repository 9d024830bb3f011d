// Package reward scores agent episodes: answer exact match and token F1
// (HotpotQA/SQuAD normalisation), protocol format, cited evidence against
// gold supporting passages, retrieval recall and NDCG, per-turn progress,
// an LLM judge, and penalties for turns, repeated queries and cost. Rewards
// compose as weighted sums, gates and step schedules, and split into
// per-role rewards for multi-agent presets; a Config names them as data,
// and one built-in Config per seed system ships embedded (Presets).
//
// The same scores serve RL (Score.Total, Score.PerTurn) and evaluation
// (the named components).
package reward

import (
	"context"

	"github.com/sleuth-research/sleuth/agent"
)

// Gold is what the dataset knows about a question; it never comes from the
// episode.
type Gold struct {
	Question   string   `json:"question"`
	Answers    []string `json:"answers"`
	Supporting []string `json:"supporting,omitempty"` // gold passage ids; nil when unknown
}

// Component is one named part of a score.
type Component struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Score is the reward of one episode. Components are unweighted, in a
// stable order; Total is what a trainer optimises. PerTurn, when set, has
// one value per episode turn (progress). Roles, when set, is the reward of
// each role of a multi-agent preset.
type Score struct {
	Total      float64            `json:"total"`
	Components []Component        `json:"components,omitempty"`
	PerTurn    []float64          `json:"per_turn,omitempty"`
	Roles      map[string]float64 `json:"roles,omitempty"`
}

// Get returns the value of the named component.
func (s Score) Get(name string) (float64, bool) {
	for _, c := range s.Components {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

// add appends the components of o not already present.
func (s *Score) add(o ...Component) {
	for _, c := range o {
		if _, ok := s.Get(c.Name); !ok {
			s.Components = append(s.Components, c)
		}
	}
}

// Func scores an episode against its gold. Implementations are safe for
// concurrent use and do not modify ep. Only rewards that wait on something
// (the LLM judge) use ctx or return errors.
type Func interface {
	Score(ctx context.Context, ep *agent.Episode, g Gold) (Score, error)
}

// Scheduled is a Func whose weights change with the training step. At
// returns the Func as it stands at step; Score alone scores at step 0.
type Scheduled interface {
	At(step int) Func
}

// AtStep returns f at the training step when f is Scheduled, else f.
func AtStep(f Func, step int) Func {
	if s, ok := f.(Scheduled); ok {
		return s.At(step)
	}
	return f
}

// b2f is 1 for true.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Format scores the protocol: 1 when the episode answered exactly once,
// with no malformed turn, within its budgets (status answered); else 0.
// Compose it with a Gate for DeepResearcher's "−1 instead of F1".
type Format struct{}

// WellFormed is the condition Format scores.
func WellFormed(ep *agent.Episode) bool {
	answers := 0
	for _, t := range ep.Turns {
		if t.Action.Kind == agent.ActionAnswer && t.Action.Error == "" {
			answers++
		}
	}
	return ep.FormatErrors == 0 && ep.Status == agent.Answered && answers == 1
}

func (Format) Score(_ context.Context, ep *agent.Episode, _ Gold) (Score, error) {
	v := b2f(WellFormed(ep))
	return Score{Total: v, Components: []Component{{"format", v}}}, nil
}

// Answer metrics a Func can optimise.
const (
	MetricEM      = "em"
	MetricF1      = "f1"
	MetricCoverEM = "cover_em"
)

// Answer scores ep.Answer against the gold answers; Total is the Metric
// (em, f1 or cover_em; default f1), and all three are components.
type Answer struct{ Metric string }

func (a Answer) Score(_ context.Context, ep *agent.Episode, g Gold) (Score, error) {
	s := ScoreAnswer(ep.Answer, g.Answers)
	out := Score{Components: []Component{{"answer_em", s.EM}, {"answer_f1", s.F1}, {"answer_cover_em", s.CoverEM}}}
	switch a.Metric {
	case MetricEM:
		out.Total = s.EM
	case MetricCoverEM:
		out.Total = s.CoverEM
	default:
		out.Total = s.F1
	}
	return out, nil
}

// Evidence scores the passage ids the episode cites (ep.Evidence) against
// the gold supporting ids, as ARENA's relevance reward; Total is the Metric
// (precision, recall or f1; default f1). Without gold supporting ids it
// scores zero with no components, since nothing can be judged.
type Evidence struct{ Metric string }

func (e Evidence) Score(_ context.Context, ep *agent.Episode, g Gold) (Score, error) {
	if len(g.Supporting) == 0 {
		return Score{}, nil
	}
	s, _ := SetPRF(ep.Evidence, g.Supporting)
	out := Score{Total: s.F1, Components: []Component{
		{"evidence_precision", s.Precision}, {"evidence_recall", s.Recall}, {"evidence_f1", s.F1}}}
	switch e.Metric {
	case "precision":
		out.Total = s.Precision
	case "recall":
		out.Total = s.Recall
	}
	return out, nil
}

// Retrieval scores the passages the episode's searches returned, in order
// of first retrieval, against the gold supporting ids (VRAG's retrieval
// reward): recall@K and NDCG@K with binary relevance; Total is the Metric
// (recall or ndcg; default ndcg). K <= 0 means every retrieved passage.
// Without gold ids it scores zero with no components.
type Retrieval struct {
	K      int
	Metric string
}

func (r Retrieval) Score(_ context.Context, ep *agent.Episode, g Gold) (Score, error) {
	if len(g.Supporting) == 0 {
		return Score{}, nil
	}
	ids := make([]string, len(ep.Retrieved))
	for i, h := range ep.Retrieved {
		ids[i] = h.ID
	}
	rec, ndcg := RecallAtK(ids, g.Supporting, r.K), NDCGAtK(ids, g.Supporting, r.K)
	out := Score{Total: ndcg, Components: []Component{{"retrieval_recall", rec}, {"retrieval_ndcg", ndcg}}}
	if r.Metric == "recall" {
		out.Total = rec
	}
	return out, nil
}

// Progress is IM-RAG's progress signal: PerTurn[t] is the increase in the
// fraction of gold supporting passages seen, contributed by the hits of
// turn t's tool calls. Total is their sum, the final coverage. Without gold
// ids every value is zero.
//
// Idle, when set, charges each search after the episode's first that
// finds no gold passage not seen before, at the turn that made it: the
// superfluous search of a 1-hop question costs, the second hop's search
// that finds its passage does not. A flat charge per search cannot tell
// them apart, and RL then either over-searches or stops searching twice
// depending on the seed (BENCHMARKS.md, "Session 9").
//
// Excess, when set, charges each search beyond the number of gold
// passages (the question's hop count in a synthetic world), at its turn.
// Unlike Idle it never charges a search a chain needs, even one that
// missed its passage, so it leaves the reason to search again intact.
// ExcessIfWrong charges it only when the answer is not an exact match:
// under one prompt for every hop count, a charge on every extra search
// teaches the policy to stop at two whatever the question, and takes away
// the third search that 3-hop questions need (BENCHMARKS.md, "Session 15").
type Progress struct {
	Idle, Excess  float64
	ExcessIfWrong bool
}

func (p Progress) Score(_ context.Context, ep *agent.Episode, g Gold) (Score, error) {
	out := Score{PerTurn: make([]float64, len(ep.Turns))}
	gold := set(g.Supporting)
	if len(gold) == 0 {
		return out, nil
	}
	found := map[string]bool{}
	charge := p.Excess
	if p.ExcessIfWrong && ScoreAnswer(ep.Answer, g.Answers).EM == 1 {
		charge = 0
	}
	prev, searches, idle, excess := 0.0, 0, 0, 0
	for i, t := range ep.Turns {
		for _, c := range t.Calls {
			fresh := 0
			for _, h := range c.Hits {
				if gold[h.ID] && !found[h.ID] {
					found[h.ID] = true
					fresh++
				}
			}
			if c.Tool == "search" || len(c.Hits) > 0 {
				searches++
				if searches > 1 && fresh == 0 {
					idle++
					out.PerTurn[i] -= p.Idle
				}
				if searches > len(gold) && charge > 0 {
					excess++
					out.PerTurn[i] -= charge
				}
			}
		}
		cov := float64(len(found)) / float64(len(gold))
		out.PerTurn[i] += cov - prev
		prev = cov
	}
	out.Total = prev
	out.Components = []Component{{"progress", prev}}
	if p.Idle > 0 {
		charge := -p.Idle * float64(idle)
		out.Total += charge
		out.Components = append(out.Components, Component{"idle_searches", charge})
	}
	if p.Excess > 0 {
		out.Total -= charge * float64(excess)
		out.Components = append(out.Components, Component{"excess_searches", -charge * float64(excess)})
	}
	return out, nil
}
