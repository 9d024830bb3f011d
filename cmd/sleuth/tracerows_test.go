package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/world"
)

// TestTraceRows checks the pre-training trace rows: whole oracle episodes
// of the step's world behind a bare question line, packed to the row size,
// and the same for the same step.
func TestTraceRows(t *testing.T) {
	r, w := tinyRunAndWorld(t, 77)
	c := r.cfg
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

// TestReadChains checks the chain blocks of the reading drills: the
// passages of a chain question of 2 to sft.max_hops hops, that question
// played through in the oracle's words (a search after every fact but the
// last, the answer after the last), and single-fact questions answered at
// once.
func TestReadChains(t *testing.T) {
	r, w := tinyRunAndWorld(t, 78)
	c := r.cfg
	byText := map[string]world.Question{}
	for _, q := range w.Questions {
		byText[q.Question] = q
	}
	rows, _ := r.readDrills(w, r.stepRNG(phasePretrain, 1), 16, true, 0.5)
	chains, singles := 0, 0
	for _, row := range rows {
		for _, block := range strings.Split(r.tok.Decode(row), "<information>")[1:] {
			info, _, _ := strings.Cut(block, "</information>")
			for _, item := range strings.Split(block, "Question: ")[1:] {
				text, _, _ := strings.Cut(item, "\n")
				q, ok := byText[text]
				if strings.Count(item, "<search>") == 0 {
					singles++
					if strings.Count(item, "<answer>") > 1 { // none only where the row was cut
						t.Errorf("single-fact item with more than one answer: %s", item)
					}
					continue
				}
				chains++
				if !ok || q.Hops < 2 || q.Hops > c.SFT.MaxHops {
					t.Errorf("%q (%d hops) is played as a chain", text, q.Hops)
					continue
				}
				if n := strings.Count(item, "<search>"); n != q.Hops {
					t.Errorf("%d searches for %d hops: %s", n, q.Hops, item)
				}
				if n := strings.Count(item, "I need the"); n != q.Hops {
					t.Errorf("%d next hops named for %d hops: %s", n, q.Hops, item)
				}
				for _, h := range q.Chain {
					if !strings.Contains(info, h.Object) || !strings.Contains(item, " is "+h.Object+".") {
						t.Errorf("hop to %q is not shown and stated: %s", h.Object, item)
					}
				}
				if !strings.Contains(item, "<answer> "+q.Answers[0]+" </answer>") {
					t.Errorf("chain item does not end in its answer %q: %s", q.Answers[0], item)
				}
			}
		}
	}
	t.Logf("%d chain items, %d single facts; rows:\n%s", chains, singles, r.tok.Decode(slices.Concat(rows...)))
	if chains == 0 || singles == 0 {
		t.Errorf("%d chain items and %d single facts, want both", chains, singles)
	}
}

// tinyRunAndWorld opens a run of the tiny config and generates a
// pre-training-sized world (60 entities, 300 questions) of seed.
func tinyRunAndWorld(t *testing.T, seed int64) (*trainRun, *world.World) {
	t.Helper()
	c, err := parseTrainConfig("tiny", []byte(tinyTrain))
	if err != nil {
		t.Fatal(err)
	}
	r := &trainRun{cfg: c, dir: filepath.Join(t.TempDir(), "run")}
	if err := r.open(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	w, err := world.Generate(world.Config{Seed: seed, Entities: 60, Questions: 300})
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}
