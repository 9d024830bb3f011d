package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// SuiteTable is a suite run's scores in the shape of the paper's table:
// one column per set, then the group averages and the average of all.
type SuiteTable struct {
	Suite    string         `json:"suite"`
	Sets     []SuiteRow     `json:"sets"`
	Averages []SuiteAverage `json:"averages"`
}

// SuiteRow is one set's score. EM averages over all Questions of the set
// in this run, a question without a result scoring 0: exactly what
// `sleuth score` gives for sets/SET.jsonl and predictions/SET.jsonl.
type SuiteRow struct {
	Set       string   `json:"set"`
	Label     string   `json:"label"`
	Group     string   `json:"group,omitempty"`
	File      string   `json:"file,omitempty"` // "" when the set was not found
	Questions int      `json:"questions"`
	Predicted int      `json:"predicted"`
	EM        Interval `json:"em"` // bootstrap 95% interval
}

// SuiteAverage is the unweighted mean of its sets' EM (each set counts
// once, as in the papers' "Avg." columns), its interval from a bootstrap
// that resamples each set's questions within the set.
type SuiteAverage struct {
	Name    string   `json:"name"`
	Label   string   `json:"label"`
	Sets    []string `json:"sets"`              // the sets averaged
	Missing []string `json:"missing,omitempty"` // the group's sets not found: the average is not the paper's
	EM      Interval `json:"em"`
}

// BuildSuiteTable scores a suite run and returns each set's predictions
// keyed by set name (ids as in the set's file).
func BuildSuiteTable(s Suite, data []SuiteData, results []Result, b Bootstrap) (SuiteTable, map[string][]Prediction) {
	t := SuiteTable{Suite: s.Name}
	preds := map[string][]Prediction{}
	byID := map[string]Result{}
	for _, r := range results {
		byID[r.ID] = r
	}
	perSet := map[string][]float64{} // per-question EM of each found set
	for _, d := range data {
		row := SuiteRow{Set: d.Set.Name, Label: d.Set.Label, Group: d.Set.Group, File: d.File, Questions: len(d.Questions)}
		var ps []Prediction
		for _, q := range d.Questions {
			if r, ok := byID[d.Set.Name+":"+q.ID]; ok {
				ps = append(ps, Prediction{ID: q.ID, Answer: r.Prediction, Evidence: r.Evidence})
			}
		}
		row.Predicted = len(ps)
		preds[d.Set.Name] = ps
		if len(d.Questions) > 0 {
			rep := ScorePredictions(d.Questions, ps, b)
			row.EM = Interval{Mean: rep.EM, Lo: rep.EMCI.Lo, Hi: rep.EMCI.Hi}
			ems := make([]float64, len(rep.PerQuestion))
			for i, qs := range rep.PerQuestion {
				ems[i] = qs.EM
			}
			perSet[d.Set.Name] = ems
		}
		t.Sets = append(t.Sets, row)
	}
	avg := func(name, label string, in func(SuiteSet) bool) {
		a := SuiteAverage{Name: name, Label: label}
		var cols [][]float64
		for _, d := range data {
			if !in(d.Set) {
				continue
			}
			if ems, ok := perSet[d.Set.Name]; ok {
				a.Sets = append(a.Sets, d.Set.Name)
				cols = append(cols, ems)
			} else {
				a.Missing = append(a.Missing, d.Set.Name)
			}
		}
		if len(cols) > 0 {
			a.EM = b.macroMean(cols)
			t.Averages = append(t.Averages, a)
		}
	}
	for _, g := range s.Groups {
		avg(g.Name, g.Label, func(set SuiteSet) bool { return set.Group == g.Name })
	}
	avg("all", "Avg.", func(SuiteSet) bool { return true })
	return t, preds
}

// macroMean is the mean of the columns' means with a stratified
// percentile bootstrap: each resample draws every column's items from
// that column alone.
func (b Bootstrap) macroMean(cols [][]float64) Interval {
	macro := func(pick func(c []float64) float64) float64 {
		s := 0.0
		for _, c := range cols {
			s += pick(c)
		}
		return s / float64(len(cols))
	}
	mean := macro(Mean)
	b = b.withDefaults()
	rng := rand.New(rand.NewPCG(b.Seed, 0x5eed))
	stats := make([]float64, b.Resamples)
	for r := range stats {
		stats[r] = macro(func(c []float64) float64 {
			if len(c) == 0 {
				return 0
			}
			s := 0.0
			for range c {
				s += c[rng.IntN(len(c))]
			}
			return s / float64(len(c))
		})
	}
	slices.Sort(stats)
	alpha := (1 - b.Level) / 2
	return Interval{Mean: mean, Lo: Quantile(stats, alpha), Hi: Quantile(stats, 1-alpha)}
}

// Markdown renders the table: one column per set and average, rows for
// EM, its interval and the number of questions.
func (t SuiteTable) Markdown() string {
	var b strings.Builder
	head, em, ci, n := []string{"suite " + t.Suite}, []string{"EM %"}, []string{"95% CI"}, []string{"questions"}
	for _, r := range t.Sets {
		head = append(head, r.Label)
		if r.File == "" {
			em, ci, n = append(em, "–"), append(ci, "not found"), append(n, "0")
			continue
		}
		em = append(em, pct(r.EM.Mean))
		ci = append(ci, fmt.Sprintf("%s–%s", pct(r.EM.Lo), pct(r.EM.Hi)))
		n = append(n, fmt.Sprintf("%d/%d", r.Predicted, r.Questions))
	}
	for _, a := range t.Averages {
		label := a.Label
		if len(a.Missing) > 0 {
			label += fmt.Sprintf(" (%d of %d sets)", len(a.Sets), len(a.Sets)+len(a.Missing))
		}
		head = append(head, label)
		em = append(em, pct(a.EM.Mean))
		ci = append(ci, fmt.Sprintf("%s–%s", pct(a.EM.Lo), pct(a.EM.Hi)))
		n = append(n, "")
	}
	for i, row := range [][]string{head, em, ci, n} {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		if i == 0 {
			b.WriteString(strings.Repeat("|---", len(row)) + "|\n")
		}
	}
	b.WriteString("\nExact match after the SQuAD normalisation (best over gold answers), a question without a result scoring 0; averages weigh each set once; bootstrap 95% intervals (stratified by set for averages).\n")
	return b.String()
}

// WriteSuite writes dir/suite.json, dir/suite.md, and for each found set
// dir/sets/SET.jsonl (its questions in this run, FlashRAG format) and
// dir/predictions/SET.jsonl, so that `sleuth score --data sets/SET.jsonl
// --predictions predictions/SET.jsonl` reproduces the set's EM.
func WriteSuite(dir string, t SuiteTable, data []SuiteData, preds map[string][]Prediction) error {
	for _, sub := range []string{"sets", "predictions"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("write suite: %w", err)
		}
	}
	for _, d := range data {
		if d.File == "" {
			continue
		}
		var qs, ps bytes.Buffer
		for _, q := range d.Questions {
			if err := jsonLine(&qs, struct {
				ID            string   `json:"id"`
				Question      string   `json:"question"`
				GoldenAnswers []string `json:"golden_answers"`
			}{q.ID, q.Question, q.Answers}); err != nil {
				return err
			}
		}
		for _, p := range preds[d.Set.Name] {
			if err := jsonLine(&ps, p); err != nil {
				return err
			}
		}
		if err := atomicfile.Write(filepath.Join(dir, "sets", d.Set.Name+".jsonl"), qs.Bytes()); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, "predictions", d.Set.Name+".jsonl"), ps.Bytes()); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "suite.json"), append(js, '\n')); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "suite.md"), []byte(t.Markdown()))
}

func jsonLine(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
