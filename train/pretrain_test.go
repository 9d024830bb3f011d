package train

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// TestTraceRows checks the pre-training trace rows: whole oracle episodes
// of the step's world behind a bare question line, packed to the row size,
// and the same for the same step.
func TestTraceRows(t *testing.T) {
	r, w := tinyRunAndWorld(t, 77)
	r.Cfg.SFT.MaxHops, r.Cfg.Pretrain.MaxHops = 1, 3 // traces of longer chains than SFT shows
	c := r.Cfg
	rows, err := r.traceRows(context.Background(), w, r.stepRNG(phasePretrain, 1))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.traceRows(context.Background(), w, r.stepRNG(phasePretrain, 1))
	if len(rows) != c.Pretrain.TraceRows {
		t.Fatalf("%d rows, want %d", len(rows), c.Pretrain.TraceRows)
	}
	maxSearches := 0
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
		for _, ep := range strings.Split(text, "Question: ")[1:] {
			maxSearches = max(maxSearches, strings.Count(ep, "<search>"))
		}
		if r.tok.Decode(again[i]) != text {
			t.Errorf("row %d differs between two builds of the same step", i)
		}
	}
	if maxSearches > 3 || maxSearches < 2 {
		t.Errorf("an episode searches up to %d times, want 2 or 3 (pretrain.max_hops 3)", maxSearches)
	}
	r.Cfg.Pretrain.ReadRows = 2
	reads := r.readRows(w, r.stepRNG(phasePretrain, 1))
	if len(reads) != 2 {
		t.Fatalf("%d reading rows, want 2", len(reads))
	}
	for i, row := range reads {
		text := r.tok.Decode(row)
		t.Logf("reading row %d: %d tokens\n%s", i, len(row), text)
		if len(row) < r.Cfg.Pretrain.TraceTokens || strings.Count(text, "<answer>") < 4 {
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
// passages of a chain question of 2 to pretrain.max_hops hops (here 3,
// above sft.max_hops 1: drills may show longer chains than SFT), that question
// played through in the oracle's words (a search after every fact but the
// last, the answer after the last), and single-fact questions answered at
// once.
func TestReadChains(t *testing.T) {
	r, w := tinyRunAndWorld(t, 78)
	r.Cfg.SFT.MaxHops, r.Cfg.Pretrain.MaxHops = 1, 3
	c := r.Cfg
	byText := map[string]world.Question{}
	for _, q := range w.Questions {
		byText[q.Question] = q
	}
	rows, _ := r.readDrills(w, r.stepRNG(phasePretrain, 1), 16, true, 0.5)
	chains, singles, byHops := 0, 0, map[int]int{}
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
				if !ok || q.Hops < 2 || q.Hops > c.Pretrain.MaxHops {
					t.Errorf("%q (%d hops) is played as a chain", text, q.Hops)
					continue
				}
				byHops[q.Hops]++
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
	if chains == 0 || singles == 0 || byHops[2] == 0 || byHops[3] == 0 {
		t.Errorf("%d chain items (by hops %v) and %d single facts, want both, and chains of 2 and 3 hops", chains, byHops, singles)
	}
}

// tinyRunAndWorld opens a run of the tiny config and generates a
// pre-training-sized world (60 entities, 300 questions) of seed.
func tinyRunAndWorld(t *testing.T, seed int64) (*Run, *world.World) {
	t.Helper()
	c, err := ParseConfig("tiny", []byte(tinyTrain(t)))
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Cfg: c, Dir: filepath.Join(t.TempDir(), "run"), Log: io.Discard}
	if err := r.Open(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	w, err := world.Generate(world.Config{Seed: seed, Entities: 60, Questions: 300})
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

// TestSFTOnFreshWorlds runs SFT steps on worlds made for each step: every
// step demonstrates questions of its own world, searched in its own index.
func TestSFTOnFreshWorlds(t *testing.T) {
	r, _ := tinyRunAndWorld(t, 79)
	r.Cfg.SFT.Worlds = "fresh"
	for step := range 2 {
		if err := r.sftStep(context.Background(), step); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	lines, err := readJSONL[metricLine](r.Path("metrics.jsonl"))
	if err != nil || len(lines) != 2 || lines[1].Loss <= 0 || lines[1].Tokens == 0 {
		t.Fatalf("metrics: %v, %+v", err, lines)
	}
	ix, err := bm25.Open(r.Path("sft-index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	hits, err := ix.Search(context.Background(), []string{"the"}, 1)
	if err != nil || len(hits[0]) == 0 || !strings.HasPrefix(hits[0][0].Passage.ID, "w6000004-") {
		t.Errorf("sft-index holds %v (%v), want the last step's world, seed 6000004", hits, err)
	}
}
