package rl

import (
	"fmt"
	"slices"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
)

// stepBehaviour summarises the behaviour of a step's episodes (package
// behaviour defines every figure, the same as in evaluation). eps are in
// batch order, group episodes per sample, as Step runs them; a sample's
// Hops labels its episodes (0: unknown).
func stepBehaviour(eps []*agent.Episode, batch []Sample, group int) *behaviour.Summary {
	if len(eps) == 0 {
		return nil
	}
	ms := make([]behaviour.Measures, len(eps))
	hops := make([]int, len(eps))
	for i, ep := range eps {
		ms[i] = behaviour.Measure(ep)
		if group > 0 && i/group < len(batch) {
			hops[i] = batch[i/group].Hops
		}
	}
	s := behaviour.Summarise(ms, hops)
	return &s
}

// CurvePoint is one step's value of one training-report curve.
type CurvePoint struct {
	Name  string
	Value float64
}

// BehaviourCurvePoints lists a step's behaviour figures as curve points
// for the training report: searches per episode by gold hop count (one
// curve per hop count), the searches-by-hops slope, answer avoidance,
// malformed turns, unused searches, duplicate queries, reasoning words
// per turn, reasoning repetition and the share of VRAG's crops holding
// the gold answer. Figures a step lacks (no search, one hop count, no
// crop) are left out, so curves have gaps, not false zeros.
func BehaviourCurvePoints(st StepStats) []CurvePoint {
	b := st.Behaviour
	if b == nil {
		return nil
	}
	var out []CurvePoint
	hops := make([]int, 0, len(b.SearchesByHops))
	for h := range b.SearchesByHops {
		hops = append(hops, h)
	}
	slices.Sort(hops)
	for _, h := range hops {
		out = append(out, CurvePoint{fmt.Sprintf("rl searches per episode, %d-hop questions", h), b.SearchesByHops[h]})
	}
	if b.HopSlope != nil {
		out = append(out, CurvePoint{"rl extra searches per extra hop", *b.HopSlope})
	}
	out = append(out,
		CurvePoint{"rl answer avoidance", b.AvoidanceRate},
		CurvePoint{"rl malformed turns", b.FormatErrorRate})
	if b.UnusedSearchRate != nil {
		out = append(out, CurvePoint{"rl searches never used", *b.UnusedSearchRate})
	}
	if b.DuplicateQueryRate != nil {
		out = append(out, CurvePoint{"rl duplicate queries", *b.DuplicateQueryRate})
	}
	out = append(out,
		CurvePoint{"rl reasoning words per turn", b.ThinkWordsPerTurn},
		CurvePoint{"rl reasoning repetition", b.ThinkRepetition})
	if st.Crops != nil {
		out = append(out, CurvePoint{"rl crops holding the gold answer", st.Crops.WithAnswer})
	}
	return out
}
