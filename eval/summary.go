package eval

import (
	"fmt"
	"io"
	"slices"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
)

// DatasetSummary aggregates one dataset's results (or all of them), each
// figure with a bootstrap interval.
type DatasetSummary struct {
	Dataset   string   `json:"dataset"`
	Questions int      `json:"questions"`
	EM        Interval `json:"em"`
	F1        Interval `json:"f1"`
	CoverEM   Interval `json:"cover_em"`
	// EvidenceF1 and RetrievalRecall cover the questions with known gold
	// passages; nil when there are none.
	EvidenceF1      *Interval            `json:"evidence_f1,omitempty"`
	RetrievalRecall *Interval            `json:"retrieval_recall,omitempty"`
	Judge           *Interval            `json:"judge,omitempty"` // LLM-judge accuracy, when a judge ran
	Turns           Interval             `json:"turns"`
	Tokens          Interval             `json:"tokens"`
	Searches        Interval             `json:"searches"`
	SearchesByHops  map[int]float64      `json:"searches_by_hops,omitempty"`
	Reward          map[string]float64   `json:"reward,omitempty"` // mean of each reward component, and "total"
	Errors          int                  `json:"errors"`           // failed or cancelled episodes
	Statuses        map[agent.Status]int `json:"statuses"`
	// Behaviour aggregates the results that recorded it (all of a run
	// made since it was added); nil when none did.
	Behaviour *behaviour.Summary `json:"behaviour,omitempty"`
}

// Summary is a run's results, overall and per dataset.
type Summary struct {
	Info     RunInfo          `json:"info"`
	Overall  DatasetSummary   `json:"overall"`
	Datasets []DatasetSummary `json:"datasets"`
}

// Summarise aggregates results.
func Summarise(info RunInfo, results []Result, b Bootstrap) Summary {
	s := Summary{Info: info, Overall: summariseOne("all", results, b)}
	byDS := map[string][]Result{}
	var names []string
	for _, r := range results {
		ds := r.Dataset
		if ds == "" {
			ds = "questions"
		}
		if _, ok := byDS[ds]; !ok {
			names = append(names, ds)
		}
		byDS[ds] = append(byDS[ds], r)
	}
	slices.Sort(names)
	for _, n := range names {
		s.Datasets = append(s.Datasets, summariseOne(n, byDS[n], b))
	}
	return s
}

func summariseOne(name string, rs []Result, b Bootstrap) DatasetSummary {
	d := DatasetSummary{Dataset: name, Questions: len(rs), Statuses: map[agent.Status]int{}}
	col := func(f func(Result) float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	d.EM = b.Mean(col(func(r Result) float64 { return r.EM }))
	d.F1 = b.Mean(col(func(r Result) float64 { return r.F1 }))
	d.CoverEM = b.Mean(col(func(r Result) float64 { return r.CoverEM }))
	d.Turns = b.Mean(col(func(r Result) float64 { return float64(r.Turns) }))
	d.Tokens = b.Mean(col(func(r Result) float64 { return float64(r.Tokens) }))
	d.Searches = b.Mean(col(func(r Result) float64 { return float64(r.Searches) }))
	var ev, rec, jd []float64
	hops := map[int][2]float64{}
	rewards := map[string]float64{}
	for _, r := range rs {
		d.Statuses[r.Status]++
		if r.Status == agent.Failed || r.Status == agent.Cancelled {
			d.Errors++
		}
		if r.EvidenceF1 != nil {
			ev = append(ev, *r.EvidenceF1)
		}
		if r.RetrievalRecall != nil {
			rec = append(rec, *r.RetrievalRecall)
		}
		jv := 0.0 // unjudged (unanswered) questions count as wrong
		if r.Judge != nil {
			jv = *r.Judge
		}
		jd = append(jd, jv)
		if r.Hops > 0 {
			h := hops[r.Hops]
			hops[r.Hops] = [2]float64{h[0] + float64(r.Searches), h[1] + 1}
		}
		if r.Reward != nil {
			rewards["total"] += r.Reward.Total / float64(len(rs))
			for _, c := range r.Reward.Components {
				rewards[c.Name] += c.Value / float64(len(rs))
			}
		}
	}
	if len(ev) > 0 {
		i := b.Mean(ev)
		d.EvidenceF1 = &i
	}
	if len(rec) > 0 {
		i := b.Mean(rec)
		d.RetrievalRecall = &i
	}
	if judged(rs) {
		i := b.Mean(jd)
		d.Judge = &i
	}
	if len(hops) > 0 {
		d.SearchesByHops = map[int]float64{}
		for h, v := range hops {
			d.SearchesByHops[h] = v[0] / v[1]
		}
	}
	if len(rewards) > 0 {
		d.Reward = rewards
	}
	d.Behaviour = behaviourOf(rs)
	return d
}

// behaviourOf summarises the behaviour of the results that recorded it.
func behaviourOf(rs []Result) *behaviour.Summary {
	var ms []behaviour.Measures
	var hops []int
	for _, r := range rs {
		if r.Behaviour != nil {
			ms = append(ms, *r.Behaviour)
			hops = append(hops, r.Hops)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	s := behaviour.Summarise(ms, hops)
	return &s
}

// Comparison is run B minus run A on the questions both answered.
type Comparison struct {
	Questions int    `json:"questions"`
	EM        Paired `json:"em"`
	F1        Paired `json:"f1"`
	// BehaviourA and BehaviourB summarise each run's behaviour on the
	// shared questions, when both recorded it.
	BehaviourA *behaviour.Summary `json:"behaviour_a,omitempty"`
	BehaviourB *behaviour.Summary `json:"behaviour_b,omitempty"`
}

// Compare pairs two runs' results by question id and bootstraps the
// differences (b − a).
func Compare(a, b []Result, bs Bootstrap) (Comparison, error) {
	byID := map[string]Result{}
	for _, r := range a {
		byID[r.ID] = r
	}
	var emA, emB, f1A, f1B []float64
	var sharedA, sharedB []Result
	for _, r := range b {
		if ra, ok := byID[r.ID]; ok {
			emA, emB = append(emA, ra.EM), append(emB, r.EM)
			f1A, f1B = append(f1A, ra.F1), append(f1B, r.F1)
			sharedA, sharedB = append(sharedA, ra), append(sharedB, r)
		}
	}
	if len(emA) == 0 {
		return Comparison{}, fmt.Errorf("compare: the runs share no question")
	}
	c := Comparison{Questions: len(emA), BehaviourA: behaviourOf(sharedA), BehaviourB: behaviourOf(sharedB)}
	var err error
	if c.EM, err = bs.PairedDiff(emB, emA); err != nil {
		return c, err
	}
	c.F1, err = bs.PairedDiff(f1B, f1A)
	return c, err
}

func judged(rs []Result) bool {
	for _, r := range rs {
		if r.Judge != nil {
			return true
		}
	}
	return false
}

// WriteText prints the summary as `sleuth eval` shows it: EM and F1 with
// their intervals, turns and errors per dataset and overall, the
// behaviour table, the leakage guard's counts, and where the report is.
func (s Summary) WriteText(w io.Writer, report string) {
	fmt.Fprintf(w, "%-24s %9s %22s %22s %8s %7s\n", "dataset", "questions", "EM % [95% CI]", "F1 % [95% CI]", "turns", "errors")
	for _, d := range append(s.Datasets, s.Overall) {
		fmt.Fprintf(w, "%-24s %9d %8.1f [%5.1f,%5.1f] %8.1f [%5.1f,%5.1f] %8.2f %7d\n", d.Dataset, d.Questions,
			100*d.EM.Mean, 100*d.EM.Lo, 100*d.EM.Hi, 100*d.F1.Mean, 100*d.F1.Lo, 100*d.F1.Hi, d.Turns.Mean, d.Errors)
	}
	behaviour.WriteTable(w, s.Overall.Behaviour)
	if g := s.Info.LeakageGuard; g != nil {
		fmt.Fprintln(w, g)
	}
	fmt.Fprintf(w, "report: %s\n", report)
}

// WriteText prints the comparison as `sleuth compare` shows it: EM and F1
// differences (B − A) with their paired intervals and p-values, then the
// behaviour side by side.
func (c Comparison) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d questions in both runs; B − A with paired bootstrap 95%% intervals:\n", c.Questions)
	for _, m := range []struct {
		name string
		p    Paired
	}{{"EM", c.EM}, {"F1", c.F1}} {
		fmt.Fprintf(w, "  %s: %+.1f points [%+.1f, %+.1f], p(B not better) = %.3f\n", m.name, 100*m.p.Diff.Mean, 100*m.p.Diff.Lo, 100*m.p.Diff.Hi, m.p.PValue)
	}
	behaviour.WriteDiff(w, c.BehaviourA, c.BehaviourB)
}
