package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/sleuth-research/sleuth/reward"
)

// Prediction is one line of a predictions file.
type Prediction struct {
	ID       string   `json:"id"`
	Answer   string   `json:"answer"`
	Evidence []string `json:"evidence,omitempty"` // cited passage ids
}

// LoadPredictions reads a JSONL file of {"id","answer","evidence":[...]}.
func LoadPredictions(path string) ([]Prediction, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load predictions: %w", err)
	}
	return ParsePredictions(data, path)
}

// ParsePredictions parses predictions JSONL; name labels errors. Every
// line needs an id and an answer (which may be empty); ids are unique.
func ParsePredictions(data []byte, name string) ([]Prediction, error) {
	var out []Prediction
	seen := map[string]int{}
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r struct {
			ID       json.RawMessage `json:"id"`
			Answer   *string         `json:"answer"`
			Evidence []string        `json:"evidence"`
		}
		err := json.Unmarshal(line, &r)
		var p Prediction
		if err == nil {
			p.ID, err = jsonID(r.ID)
		}
		switch {
		case err != nil:
		case p.ID == "":
			err = errors.New("prediction without an id")
		case r.Answer == nil:
			err = fmt.Errorf("prediction %s has no answer (give \"answer\": \"\" for none)", p.ID)
		case seen[p.ID] > 0:
			err = fmt.Errorf("prediction id %q repeats line %d", p.ID, seen[p.ID])
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
		}
		p.Answer, p.Evidence = *r.Answer, r.Evidence
		seen[p.ID] = n + 1
		out = append(out, p)
	}
	return out, nil
}

// QuestionScore is one question's scores.
type QuestionScore struct {
	ID      string `json:"id"`
	Missing bool   `json:"missing,omitempty"`
	reward.AnswerScore
	Evidence *reward.PRF `json:"evidence,omitempty"` // when gold passages are known
}

// EvidenceReport averages evidence scores over the questions whose gold
// passages are known; a missing prediction scores zero.
type EvidenceReport struct {
	Questions int     `json:"questions"`
	EM        float64 `json:"em"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Report is a predictions file scored against a question file. Answer
// metrics average over all questions, a missing prediction scoring zero,
// exactly as the official HotpotQA script does; intervals are bootstrap
// 95% intervals.
type Report struct {
	Questions   int             `json:"questions"`
	Predicted   int             `json:"predicted"`
	Missing     int             `json:"missing"`
	Unknown     int             `json:"unknown"` // predictions for ids not among the questions
	EM          float64         `json:"em"`
	F1          float64         `json:"f1"`
	Precision   float64         `json:"precision"`
	Recall      float64         `json:"recall"`
	CoverEM     float64         `json:"cover_em"`
	EMCI        Interval        `json:"em_ci"`
	F1CI        Interval        `json:"f1_ci"`
	Evidence    *EvidenceReport `json:"evidence,omitempty"`
	PerQuestion []QuestionScore `json:"per_question,omitempty"`
}

// ScorePredictions scores preds against qs. Sums run in question order,
// then divide by the number of questions, as the official script does, so
// EM and F1 equal its figures exactly.
func ScorePredictions(qs []Question, preds []Prediction, b Bootstrap) Report {
	byID := make(map[string]Prediction, len(preds))
	for _, p := range preds {
		byID[p.ID] = p
	}
	r := Report{Questions: len(qs), PerQuestion: make([]QuestionScore, len(qs))}
	ems, f1s := make([]float64, len(qs)), make([]float64, len(qs))
	var ev EvidenceReport
	known := map[string]bool{}
	for i, q := range qs {
		known[q.ID] = true
		p, ok := byID[q.ID]
		qsc := QuestionScore{ID: q.ID, Missing: !ok}
		if ok {
			r.Predicted++
			qsc.AnswerScore = reward.ScoreAnswer(p.Answer, q.Answers)
		} else {
			r.Missing++
		}
		if len(q.Supporting) > 0 {
			prf, em := reward.SetPRF(p.Evidence, q.Supporting)
			qsc.Evidence = &prf
			ev.Questions++
			ev.EM += em
			ev.Precision += prf.Precision
			ev.Recall += prf.Recall
			ev.F1 += prf.F1
		}
		a := qsc.AnswerScore
		r.EM += a.EM
		r.F1 += a.F1
		r.Precision += a.Prec
		r.Recall += a.Recall
		r.CoverEM += a.CoverEM
		ems[i], f1s[i] = a.EM, a.F1
		r.PerQuestion[i] = qsc
	}
	for _, p := range preds {
		if !known[p.ID] {
			r.Unknown++
		}
	}
	if n := float64(len(qs)); n > 0 {
		r.EM, r.F1, r.Precision, r.Recall, r.CoverEM = r.EM/n, r.F1/n, r.Precision/n, r.Recall/n, r.CoverEM/n
	}
	r.EMCI, r.F1CI = b.Mean(ems), b.Mean(f1s)
	if ev.Questions > 0 {
		n := float64(ev.Questions)
		ev.EM, ev.Precision, ev.Recall, ev.F1 = ev.EM/n, ev.Precision/n, ev.Recall/n, ev.F1/n
		r.Evidence = &ev
	}
	return r
}

// WriteText prints the report as `sleuth score` shows it: the counts, then
// a table of EM and F1 with their intervals, precision, recall, cover-EM
// and, where gold passages are known, the evidence scores.
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%d questions, %d predicted, %d missing (scored 0), %d predictions for unknown ids\n\n",
		r.Questions, r.Predicted, r.Missing, r.Unknown)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tvalue\t95% CI\t")
	fmt.Fprintf(tw, "EM\t%.4f\t[%.4f, %.4f]\t\n", r.EM, r.EMCI.Lo, r.EMCI.Hi)
	fmt.Fprintf(tw, "F1\t%.4f\t[%.4f, %.4f]\t\n", r.F1, r.F1CI.Lo, r.F1CI.Hi)
	fmt.Fprintf(tw, "precision\t%.4f\t\t\n", r.Precision)
	fmt.Fprintf(tw, "recall\t%.4f\t\t\n", r.Recall)
	fmt.Fprintf(tw, "cover-EM\t%.4f\t\t\n", r.CoverEM)
	if e := r.Evidence; e != nil {
		fmt.Fprintf(tw, "evidence EM\t%.4f\t(%d questions)\t\n", e.EM, e.Questions)
		fmt.Fprintf(tw, "evidence precision\t%.4f\t\t\n", e.Precision)
		fmt.Fprintf(tw, "evidence recall\t%.4f\t\t\n", e.Recall)
		fmt.Fprintf(tw, "evidence F1\t%.4f\t\t\n", e.F1)
	}
	return tw.Flush()
}
