package rl

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// TestOracleTracesAndSFT: the oracle answers world questions through the
// real runner and index, its traces carry policy tokens only where it
// wrote, and SFT on them lowers the loss.
func TestOracleTracesAndSFT(t *testing.T) {
	w, err := world.Generate(world.Config{Seed: 4, Entities: 80, Questions: 40})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "idx")
	seq := func(yield func(corpus.Passage, error) bool) {
		for _, p := range w.Passages {
			if !yield(p, nil) {
				return
			}
		}
	}
	if _, err := bm25.Build(context.Background(), dir, seq, bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	texts := func(yield func(string) bool) {
		for _, p := range w.Passages {
			if !yield(p.Title + " " + p.Text) {
				return
			}
		}
	}
	tok, err := tokenizer.Train(texts, 1200, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	oracle := NewOracle(p, w.Questions, tok.Encode, tok.Decode)
	r := &agent.Runner{Preset: p, Policy: oracle, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: ix}}}
	qs := make([]agent.Question, 0, 16)
	for _, q := range w.Questions[:16] {
		qs = append(qs, agent.Question{ID: q.ID, Text: q.Question})
	}
	eps := r.RunMany(context.Background(), qs, 4)
	for i, ep := range eps {
		q := w.Questions[i]
		if ep.Status != agent.Answered || ep.Answer != q.Answers[0] || ep.Ledger.Searches != len(q.Chain) {
			t.Fatalf("%s: status %s (%s), answer %q want %q, %d searches for %d hops", q.ID, ep.Status, ep.Reason, ep.Answer, q.Answers[0], ep.Ledger.Searches, len(q.Chain))
		}
		if _, _, err := ep.Tokens(agent.MainRole); err != nil {
			t.Fatal(err)
		}
	}
	m, err := model.NewRandom(model.Config{Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 2, Vocab: tok.VocabSize(), SeqLen: 1024, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	tc := model.DefaultTrainConfig(16, 512)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = 1e-2, 1e-2, 1, 0
	tr, err := model.NewTrainer(m, tc, 1)
	if err != nil {
		t.Fatal(err)
	}
	first, last := 0.0, 0.0
	for step := range 25 {
		l, err := SFTStep(tr, eps, agent.MainRole)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = l
		}
		last = l
	}
	t.Logf("SFT loss per policy token %.3f → %.3f", first, last)
	if last > 0.6*first {
		t.Errorf("SFT did not learn the oracle traces: loss %.3f → %.3f", first, last)
	}
}

// TestEvalLoss checks the probe's loss against the log-probabilities of
// the same forward pass, token by token, and that it changes no weight.
func TestEvalLoss(t *testing.T) {
	m, err := model.NewRandom(model.Config{Dim: 16, HiddenDim: 40, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 50, SeqLen: 64, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, 5)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := model.NewTrainer(m, model.DefaultTrainConfig(2, 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	doc := []int{1, 7, 9, 3, 3, 12, 40, 2}
	mask := []float32{0, 0, 1, 0, 1, 1, 0, 0}
	before := append([]float32(nil), tr.Params()...)
	got, err := EvalLoss(tr, [][]int{doc}, [][]float32{mask})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetShape(1, len(doc)-1); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Loss(doc[:len(doc)-1], doc[1:], nil); err != nil {
		t.Fatal(err)
	}
	lp := tr.TokenLogprobs() // lp[k-1] is log p(doc[k])
	want := -float64(lp[1]+lp[3]+lp[4]) / 3
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("EvalLoss %v, want %v", got, want)
	}
	if !slices.Equal(before, tr.Params()) {
		t.Error("EvalLoss changed the weights")
	}
	if _, err := EvalLoss(tr, [][]int{doc}, [][]float32{make([]float32, len(doc))}); err == nil {
		t.Error("no masked token: want an error")
	}
}

// TestOracleStepPlans checks the oracle's words on a 3-hop chain: each
// search names the hops still to come, each fact found is stated object
// last, and the answer follows the last hop.
func TestOracleStepPlans(t *testing.T) {
	q := world.Question{Type: world.Chain, Answers: []string{"Oslo"}, Chain: []world.Hop{
		{Subject: "Ann Lee", Relation: "employer", Object: "Acme Labs", Query: "employer of Ann Lee"},
		{Subject: "Acme Labs", Relation: "headquartered_in", Object: "Bergen", Query: "headquarters of Acme Labs"},
		{Subject: "Bergen", Relation: "located_in", Object: "Oslo", Query: "country of Bergen"},
	}}
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	pr := ProtocolOf(p)
	info := "Ann Lee works for Acme Labs. Acme Labs is based in Bergen. Bergen lies in Oslo."
	want := []string{
		"<think>I need the employer of Ann Lee, then its headquartered in, then its located in.</think>\n<search> employer of Ann Lee </search>",
		"<think>The employer of Ann Lee is Acme Labs. I need the headquartered in of Acme Labs, then its located in.</think>\n<search> headquarters of Acme Labs </search>",
		"<think>The headquartered in of Acme Labs is Bergen. I need the located in of Bergen.</think>\n<search> country of Bergen </search>",
		"<think>The located in of Bergen is Oslo. So the answer is Oslo.</think>\n<answer> Oslo </answer>",
	}
	for done, w := range want {
		if got := pr.Step(q, done, info); got != w {
			t.Errorf("after %d searches:\n got %q\nwant %q", done, got, w)
		}
	}
	if got := pr.Step(q, 1, "nothing here"); strings.Contains(got, "The employer") {
		t.Errorf("states a fact the information does not show: %q", got)
	}
}
