package reward

import (
	"context"
	"fmt"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
)

// Schedule is a weight that changes with the training step (ARENA's
// adaptive reward). Kind is "const" (Value), "linear" (From at or before
// Start, To at or after End, linear between) or "step" (the Value of the
// last Point whose Step is at or before the step; From before the first).
type Schedule struct {
	Kind   string      `yaml:"kind" json:"kind"`
	Value  float64     `yaml:"value,omitempty" json:"value,omitempty"`
	From   float64     `yaml:"from,omitempty" json:"from,omitempty"`
	To     float64     `yaml:"to,omitempty" json:"to,omitempty"`
	Start  int         `yaml:"start,omitempty" json:"start,omitempty"`
	End    int         `yaml:"end,omitempty" json:"end,omitempty"`
	Points []StepPoint `yaml:"points,omitempty" json:"points,omitempty"`
}

// StepPoint is where a step schedule changes value.
type StepPoint struct {
	Step  int     `yaml:"step" json:"step"`
	Value float64 `yaml:"value" json:"value"`
}

// Const is a schedule that is always v.
func Const(v float64) Schedule { return Schedule{Kind: "const", Value: v} }

// Validate checks the schedule's kind and ranges.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "const", "":
	case "linear":
		if s.End <= s.Start {
			return fmt.Errorf("linear schedule: end %d must be after start %d", s.End, s.Start)
		}
	case "step":
		for i := 1; i < len(s.Points); i++ {
			if s.Points[i].Step <= s.Points[i-1].Step {
				return fmt.Errorf("step schedule: points must have increasing steps (%d after %d)", s.Points[i].Step, s.Points[i-1].Step)
			}
		}
	default:
		return fmt.Errorf("schedule kind %q is not const, linear or step", s.Kind)
	}
	return nil
}

// At is the weight at a training step.
func (s Schedule) At(step int) float64 {
	switch s.Kind {
	case "linear":
		switch {
		case step <= s.Start:
			return s.From
		case step >= s.End:
			return s.To
		}
		f := float64(step-s.Start) / float64(s.End-s.Start)
		return s.From + f*(s.To-s.From)
	case "step":
		v := s.From
		for _, p := range s.Points {
			if p.Step > step {
				break
			}
			v = p.Value
		}
		return v
	}
	return s.Value
}

// Term is one weighted part of a Weighted sum.
type Term struct {
	Name   string // names the term's weighted value among the components ("w:" + Name)
	Weight Schedule
	Func   Func
}

// Weighted is a weighted sum of terms at a training step: Total =
// Σ weight(step)·term.Total. Components are each term's own components
// (first occurrence of a name wins) and PerTurn is the weighted sum of the
// terms' PerTurn values.
type Weighted struct {
	Terms []Term
	Step  int
}

// At returns the sum with its weights at step; inner Funcs move too.
func (w Weighted) At(step int) Func {
	out := Weighted{Terms: make([]Term, len(w.Terms)), Step: step}
	for i, t := range w.Terms {
		t.Func = AtStep(t.Func, step)
		out.Terms[i] = t
	}
	return out
}

func (w Weighted) Score(ctx context.Context, ep *agent.Episode, g Gold) (Score, error) {
	var out Score
	for _, t := range w.Terms {
		s, err := t.Func.Score(ctx, ep, g)
		if err != nil {
			return Score{}, fmt.Errorf("reward %s: %w", t.Name, err)
		}
		wt := t.Weight.At(w.Step)
		out.Total += wt * s.Total
		out.add(s.Components...)
		out.add(Component{"w:" + t.Name, wt * s.Total})
		out.PerTurn = addScaled(out.PerTurn, s.PerTurn, wt)
		if s.Roles != nil {
			out.Roles = s.Roles
		}
	}
	return out, nil
}

func addScaled(dst, src []float64, w float64) []float64 {
	for len(dst) < len(src) {
		dst = append(dst, 0)
	}
	for i, v := range src {
		dst[i] += w * v
	}
	return dst
}

// Gate scores Then only when Cond's Total is at least Min (default: when
// Min is 0, Cond must be positive); otherwise the score is Else. Gate{Cond:
// Format{}, Then: Answer{}, Else: -1} is DeepResearcher's reward: −1 for a
// format error, F1 otherwise. Cond's components are always reported, and a
// "gate" component says whether it opened.
type Gate struct {
	Cond Func
	Then Func
	Else float64
	Min  float64
}

// At moves both sides to step.
func (g Gate) At(step int) Func {
	g.Cond, g.Then = AtStep(g.Cond, step), AtStep(g.Then, step)
	return g
}

func (g Gate) Score(ctx context.Context, ep *agent.Episode, gold Gold) (Score, error) {
	c, err := g.Cond.Score(ctx, ep, gold)
	if err != nil {
		return Score{}, err
	}
	open := c.Total > 0
	if g.Min != 0 {
		open = c.Total >= g.Min
	}
	if !open {
		out := Score{Total: g.Else, Components: c.Components}
		out.add(Component{"gate", 0})
		return out, nil
	}
	t, err := g.Then.Score(ctx, ep, gold)
	if err != nil {
		return Score{}, err
	}
	out := Score{Total: t.Total, Components: c.Components, PerTurn: t.PerTurn, Roles: t.Roles}
	out.add(Component{"gate", 1})
	out.add(t.Components...)
	return out, nil
}

// RolePenalty is what one role of a multi-agent preset loses on top of the
// shared reward, after MMOA-RAG: a fixed penalty when any of its turns was
// malformed; one when it issued more than MaxSearches searches (MMOA's
// query rewriter asking too many sub-questions); one when it cited the same
// passage twice (MMOA's selector); one when its answer has more than
// MaxAnswerWords words (MMOA's generator). Zero limits are off. Penalties
// are given as positive amounts and subtracted.
type RolePenalty struct {
	Role              string  `yaml:"role"`
	FormatError       float64 `yaml:"format_error"`
	MaxSearches       int     `yaml:"max_searches"`
	TooManySearches   float64 `yaml:"too_many_searches"`
	DuplicateEvidence float64 `yaml:"duplicate_evidence"`
	MaxAnswerWords    int     `yaml:"max_answer_words"`
	LongAnswer        float64 `yaml:"long_answer"`
}

// Amount is what the role loses in ep (zero or positive).
func (p RolePenalty) Amount(ep *agent.Episode) float64 {
	var malformed, duplicate, long bool
	searches := 0
	for _, t := range ep.Turns {
		if t.Role != p.Role {
			continue
		}
		a := t.Action
		malformed = malformed || a.Error != ""
		searches += searchesOf(a)
		seen := map[string]bool{}
		for _, id := range a.Evidence {
			duplicate = duplicate || seen[id]
			seen[id] = true
		}
		if p.MaxAnswerWords > 0 && a.Kind == agent.ActionAnswer && len(strings.Fields(a.Answer)) > p.MaxAnswerWords {
			long = true
		}
	}
	v := b2f(malformed)*p.FormatError + b2f(duplicate)*p.DuplicateEvidence + b2f(long)*p.LongAnswer
	if p.MaxSearches > 0 && searches > p.MaxSearches {
		v += p.TooManySearches
	}
	return v
}

// searchesOf counts the queries a turn issued: one per search call when the
// action lists its calls (a rewriter may ask several sub-questions in one
// turn), else one for a search action.
func searchesOf(a agent.Action) int {
	n := 0
	for _, c := range a.Calls {
		if c.Tool == "search" {
			n++
		}
	}
	if n == 0 && a.Kind == agent.ActionSearch {
		n = 1
	}
	return n
}

// Roles gives every role of a multi-agent episode the Shared reward minus
// its own penalty (MMOA-RAG: all agents share the final answer's F1, each
// pays for its own mistakes). Score.Roles holds one value per role that
// took a turn or has a penalty; Total is the shared reward.
type Roles struct {
	Shared    Func
	Penalties []RolePenalty
}

// At moves the shared reward to step.
func (r Roles) At(step int) Func {
	r.Shared = AtStep(r.Shared, step)
	return r
}

func (r Roles) Score(ctx context.Context, ep *agent.Episode, g Gold) (Score, error) {
	s, err := r.Shared.Score(ctx, ep, g)
	if err != nil {
		return Score{}, err
	}
	s.Roles = map[string]float64{}
	for _, t := range ep.Turns {
		if t.Role != "" {
			s.Roles[t.Role] = s.Total
		}
	}
	for _, p := range r.Penalties {
		s.Roles[p.Role] = s.Total - p.Amount(ep)
	}
	return s, nil
}
