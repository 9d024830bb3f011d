package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/world"
)

// TestTraceRows checks the pre-training trace rows: whole oracle episodes
// of the step's world behind a bare question line, packed to the row size,
// and the same for the same step.
func TestTraceRows(t *testing.T) {
	c, err := parseTrainConfig("tiny", []byte(tinyTrain))
	if err != nil {
		t.Fatal(err)
	}
	r := &trainRun{cfg: c, dir: filepath.Join(t.TempDir(), "run")}
	if err := r.open(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	w, err := world.Generate(world.Config{Seed: 77, Entities: 60, Questions: 300})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := r.traceRows(context.Background(), w, r.stepRNG(phasePretrain, 1))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.traceRows(context.Background(), w, r.stepRNG(phasePretrain, 1))
	if len(rows) != c.Pretrain.TraceRows {
		t.Fatalf("%d rows, want %d", len(rows), c.Pretrain.TraceRows)
	}
	for i, row := range rows {
		text := r.tok.Decode(row)
		t.Logf("row %d: %d tokens\n%s", i, len(row), text)
		if len(row) > c.Model.SeqLen+1 {
			t.Errorf("row %d has %d tokens, more than %d", i, len(row), c.Model.SeqLen+1)
		}
		for _, want := range []string{"Question: ", "<search>", "<information>", "<answer>", "So the answer is"} {
			if !strings.Contains(text, want) {
				t.Errorf("row %d lacks %q", i, want)
			}
		}
		if strings.Contains(text, "Think step by step") {
			t.Errorf("row %d carries the preset's instructions", i)
		}
		if r.tok.Decode(again[i]) != text {
			t.Errorf("row %d differs between two builds of the same step", i)
		}
	}
	r.cfg.Pretrain.ReadRows = 2
	reads := r.readRows(w, r.stepRNG(phasePretrain, 1))
	if len(reads) != 2 {
		t.Fatalf("%d reading rows, want 2", len(reads))
	}
	for i, row := range reads {
		text := r.tok.Decode(row)
		t.Logf("reading row %d: %d tokens\n%s", i, len(row), text)
		if len(row) < r.cfg.Pretrain.TraceTokens || strings.Count(text, "<answer>") < 4 {
			t.Errorf("reading row %d: %d tokens, %d answers", i, len(row), strings.Count(text, "<answer>"))
		}
	}
	// Every question's answer is in the information block before it.
	for _, unit := range strings.Split(r.tok.Decode(reads[0]), "<information>")[1:] {
		info, qa, _ := strings.Cut(unit, "</information>")
		for _, a := range strings.Split(qa, "<answer> ")[1:] {
			ans, _, _ := strings.Cut(a, " </answer>")
			if !strings.Contains(info, ans) {
				t.Errorf("answer %q is not in its information block", ans)
			}
		}
	}
}
