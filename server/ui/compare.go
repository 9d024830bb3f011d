package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/sleuth-research/sleuth/eval"
)

// readResults reads a run's results.jsonl; lines that do not parse (a
// last line cut off mid-write) are skipped.
func (s *Server) readResults(name string) ([]eval.Result, error) {
	b, err := s.root.ReadFile(name + "/results.jsonl")
	if err != nil {
		return nil, err
	}
	var out []eval.Result
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r eval.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.ID != "" {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

type comparePage struct {
	A, B      string
	Runs      []Run
	Err       string
	Cmp       *eval.Comparison
	Changed   []changed // questions whose EM differs, B's gains first
	Shown     int
	Questions int
}

type changed struct {
	ID, Question, PredA, PredB string
	Answers                    []string
	Diff                       float64 // EM of B − EM of A
}

// handleCompare pairs two evaluations question by question: EM and F1
// differences with bootstrap intervals, and every question whose EM
// changed.
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	p := comparePage{A: r.URL.Query().Get("a"), B: r.URL.Query().Get("b")}
	p.Runs, _ = listRuns(s.root)
	if p.A != "" && p.B != "" {
		s.compare(&p)
	}
	s.render(w, "compare.tmpl", p)
}

func (s *Server) compare(p *comparePage) {
	if !validName(p.A) || !validName(p.B) {
		p.Err = "unknown run"
		return
	}
	a, errA := s.readResults(p.A)
	b, errB := s.readResults(p.B)
	if errA != nil || errB != nil || len(a) == 0 || len(b) == 0 {
		p.Err = "both runs need a results.jsonl (sleuth eval --out writes one)"
		return
	}
	c, err := eval.Compare(a, b, eval.Bootstrap{})
	if err != nil {
		p.Err = err.Error()
		return
	}
	p.Cmp, p.Questions = &c, c.Questions
	byID := make(map[string]eval.Result, len(a))
	for _, r := range a {
		byID[r.ID] = r
	}
	for _, rb := range b {
		if ra, ok := byID[rb.ID]; ok && ra.EM != rb.EM {
			p.Changed = append(p.Changed, changed{ID: rb.ID, Question: rb.Question, Answers: rb.Answers, PredA: ra.Prediction, PredB: rb.Prediction, Diff: rb.EM - ra.EM})
		}
	}
	slices.SortStableFunc(p.Changed, func(x, y changed) int {
		switch {
		case x.Diff > y.Diff:
			return -1
		case x.Diff < y.Diff:
			return 1
		}
		return 0
	})
	p.Shown = len(p.Changed)
	if len(p.Changed) > 500 {
		p.Changed = p.Changed[:500]
	}
}
