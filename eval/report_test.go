package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
	"github.com/sleuth-research/sleuth/internal/headless"
	"github.com/sleuth-research/sleuth/reward"
)

func sampleResults() []Result {
	f, one := 0.5, 1.0
	return []Result{
		{ID: "a", Dataset: "world", Question: "Who founded <b>Varnel</b> Labs?", Answers: []string{"Ada"}, Prediction: "<script>alert(1)</script>", Hops: 2, Turns: 3, Searches: 2, Status: agent.Answered, EvidenceF1: &f, RetrievalRecall: &f,
			Reward: &reward.Score{Total: 0.5, Components: []reward.Component{{Name: "f1", Value: 0.5}, {Name: "format", Value: 1}}}},
		{ID: "b", Dataset: "world", Question: "Where?", Answers: []string{"Tarsk"}, Prediction: "Tarsk", EM: 1, F1: 1, CoverEM: 1, Hops: 1, Turns: 2, Searches: 1, Status: agent.Answered, Judge: &one},
		{ID: "c", Dataset: "nq", Question: "When?", Answers: []string{"1990"}, Status: agent.Failed, Reason: "llm: connection refused", Turns: 1},
	}
}

// withBehaviour gives the sample results behaviour measures: a searches
// twice and leaves one unused, b searches once and declines.
func withBehaviour(rs []Result) []Result {
	rs[0].Behaviour = &behaviour.Measures{Searches: 2, Turns: 3, ToolTurns: 2, UnusedSearches: 1, Supported: true}
	rs[1].Behaviour = &behaviour.Measures{Searches: 1, Turns: 2, ToolTurns: 1, Avoided: true}
	rs[2].Behaviour = &behaviour.Measures{Turns: 1, ToolTurns: 1}
	return rs
}

func TestReportEscapesAndRenders(t *testing.T) {
	dir := t.TempDir()
	rs := withBehaviour(sampleResults())
	s := Summarise(RunInfo{Preset: "searchr1", Model: "local:x", Data: []string{"q.jsonl"}}, rs, Bootstrap{})
	if s.Overall.Errors != 1 || len(s.Datasets) != 2 || s.Overall.SearchesByHops[2] != 2 || s.Overall.Judge == nil || s.Overall.Judge.Mean != 1.0/3 {
		t.Fatalf("summary %+v", s.Overall)
	}
	if err := WriteReport(dir, s, rs); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if strings.Contains(string(html), "<script>alert") || strings.Contains(string(html), "<b>Varnel") {
		t.Fatal("run text reached the page unescaped")
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	// world: searches by hops 1: 1, 2: 2; slope 1; a third of its 3
	// searches unused; half its episodes avoid.
	for _, want := range []string{"| world | 2 |", "## Behaviour", "| searches per question by gold hops | – | 1: 1.00, 2: 2.00 | 1: 1.00, 2: 2.00 |",
		"| extra searches per extra hop (slope) | – | 1.00 | 1.00 |", "| searches whose results were never used | – | 33.3% | 33.3% |",
		"| answer avoidance (no answer, unknown, refusal) | 0.0% | 50.0% | 33.3% |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(string(html), "extra searches per extra hop") {
		t.Error("report.html has no behaviour table")
	}
	headless.Screenshot(t, filepath.Join(dir, "report.html"), 20_000)
}

func TestLoadResultsRepairsCutOffLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	os.WriteFile(path, []byte(`{"id":"a","question":"q","answers":["x"],"prediction":"x","em":1,"f1":1,"cover_em":1,"status":"answered","turns":1,"tokens":1,"searches":0,"seconds":0}`+"\n"+`{"id":"b","quest`), 0o644)
	if _, err := LoadResults(path, false); err == nil {
		t.Fatal("a cut-off line was accepted without repair")
	}
	rs, err := LoadResults(path, true)
	if err != nil || len(rs) != 1 || rs[0].ID != "a" {
		t.Fatalf("repair: %v %+v", err, rs)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("file not truncated to whole lines: %q", b)
	}
	os.WriteFile(path, []byte("{bad}\n{\"id\":\"a\"}\n"), 0o644)
	if _, err := LoadResults(path, true); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("corrupt first line: %v", err)
	}
}

func TestSummaryWriteText(t *testing.T) {
	s := Summary{Overall: DatasetSummary{Dataset: "all", Questions: 2, Errors: 1}, Info: RunInfo{LeakageGuard: &LeakageGuard{Rules: 3}}}
	var b strings.Builder
	s.WriteText(&b, "runs/x/report.html")
	out := b.String()
	for _, want := range []string{"dataset ", "all ", "3 deny rules", "report: runs/x/report.html\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestComparisonWriteText(t *testing.T) {
	c := Comparison{Questions: 4, EM: Paired{PValue: 0.25}}
	c.EM.Diff.Mean, c.EM.Diff.Lo, c.EM.Diff.Hi = 0.1, -0.05, 0.2
	var b strings.Builder
	c.WriteText(&b)
	for _, want := range []string{"4 questions in both runs", "EM: +10.0 points [-5.0, +20.0], p(B not better) = 0.250", "not recorded in both runs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}
