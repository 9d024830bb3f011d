package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// expected is what the official HotpotQA script's logic gives for a
// fixture (testdata/score/expected*.json, computed by that logic with
// max over gold answers; see the fixture README).
type expected struct {
	Questions   int             `json:"questions"`
	Missing     int             `json:"missing"`
	EM          float64         `json:"em"`
	F1          float64         `json:"f1"`
	Precision   float64         `json:"precision"`
	Recall      float64         `json:"recall"`
	CoverEM     float64         `json:"cover_em"`
	Evidence    *EvidenceReport `json:"evidence"`
	PerQuestion map[string]struct {
		EM float64 `json:"em"`
		F1 float64 `json:"f1"`
	} `json:"per_question"`
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestScoreMatchesOfficial checks EM, F1 and the rest against the official
// script's figures exactly (float equality, not a tolerance).
func TestScoreMatchesOfficial(t *testing.T) {
	tests := []struct{ questions, predictions, expected string }{
		{"questions.jsonl", "predictions.jsonl", "expected.json"},
		{"hotpot.json", "predictions_hotpot.jsonl", "expected_hotpot.json"},
	}
	for _, tt := range tests {
		t.Run(tt.questions, func(t *testing.T) {
			dir := filepath.Join("testdata", "score")
			qs, err := LoadQuestions(filepath.Join(dir, tt.questions))
			if err != nil {
				t.Fatal(err)
			}
			ps, err := LoadPredictions(filepath.Join(dir, tt.predictions))
			if err != nil {
				t.Fatal(err)
			}
			want := readExpected(t, filepath.Join(dir, tt.expected))
			r := ScorePredictions(qs, ps, Bootstrap{Resamples: 50})
			got := expected{Questions: r.Questions, Missing: r.Missing, EM: r.EM, F1: r.F1, Precision: r.Precision,
				Recall: r.Recall, CoverEM: r.CoverEM, Evidence: r.Evidence, PerQuestion: want.PerQuestion}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("report (-official +sleuth):\n%s", d)
			}
			for _, q := range r.PerQuestion {
				w, ok := want.PerQuestion[q.ID]
				if q.Missing != !ok {
					t.Errorf("%s: missing %v, official says %v", q.ID, q.Missing, !ok)
				}
				if ok && (q.EM != w.EM || q.F1 != w.F1) {
					t.Errorf("%s: em %v f1 %v, official em %v f1 %v", q.ID, q.EM, q.F1, w.EM, w.F1)
				}
			}
		})
	}
}

func TestScoreCounts(t *testing.T) {
	qs := []Question{{ID: "a", Answers: []string{"x"}}, {ID: "b", Answers: []string{"y"}}}
	ps := []Prediction{{ID: "a", Answer: "x"}, {ID: "zzz", Answer: "y"}}
	r := ScorePredictions(qs, ps, Bootstrap{})
	if r.Predicted != 1 || r.Missing != 1 || r.Unknown != 1 || r.EM != 0.5 || r.Evidence != nil {
		t.Errorf("got %+v", r)
	}
}

func TestParsePredictionsErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no id", `{"answer":"x"}`, "p.jsonl:1: prediction without an id"},
		{"no answer", "\n{\"id\":\"q\"}", "p.jsonl:2: prediction q has no answer"},
		{"repeat", "{\"id\":1,\"answer\":\"\"}\n{\"id\":\"1\",\"answer\":\"\"}", "p.jsonl:2: prediction id \"1\" repeats line 1"},
		{"bad json", `{"id":`, "p.jsonl:1:"},
		{"bad evidence", `{"id":"a","answer":"b","evidence":"c"}`, "p.jsonl:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePredictions([]byte(tt.in), "p.jsonl")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParsePredictions(f *testing.F) {
	for _, s := range []string{`{"id":"a","answer":"b","evidence":["p1"]}`, "{\"id\":1,\"answer\":\"\"}\n\n{\"id\":1}", `{"id":null}`, "[]", "{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := ParsePredictions(b, "fuzz.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.jsonl:") {
				t.Errorf("error %q does not name file and line", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if p.ID == "" || seen[p.ID] {
				t.Errorf("accepted empty or repeated id %q", p.ID)
			}
			seen[p.ID] = true
		}
	})
}

// TestReportWriteText pins `sleuth score`'s table, with and without the
// evidence rows.
func TestReportWriteText(t *testing.T) {
	t.Parallel()
	r := Report{Questions: 4, Predicted: 3, Missing: 1, EM: 0.5, F1: 0.625, Precision: 0.7, Recall: 0.6, CoverEM: 0.75,
		EMCI: Interval{Lo: 0, Hi: 1}, F1CI: Interval{Lo: 0.25, Hi: 1}}
	const head = "4 questions, 3 predicted, 1 missing (scored 0), 0 predictions for unknown ids\n\n" +
		"metric     value   95% CI            \n" +
		"EM         0.5000  [0.0000, 1.0000]  \n" +
		"F1         0.6250  [0.2500, 1.0000]  \n" +
		"precision  0.7000                    \n" +
		"recall     0.6000                    \n" +
		"cover-EM   0.7500                    \n"
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(head, b.String()); diff != "" {
		t.Errorf("without evidence (-want +got):\n%s", diff)
	}
	r.Evidence = &EvidenceReport{Questions: 2, EM: 0.5, Precision: 0.25, Recall: 0.75, F1: 0.375}
	b.Reset()
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"evidence EM         0.5000  (2 questions)", "evidence precision  0.2500", "evidence recall     0.7500", "evidence F1         0.3750"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("with evidence: no %q in\n%s", want, b.String())
		}
	}
}
