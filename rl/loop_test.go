package rl

import (
	"context"
	"fmt"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
)

// favourite rewards an episode by the share of its generated tokens equal
// to one token id: a task with a dense signal, so a few GRPO steps must
// move the policy.
type favourite struct{ id int }

func (f favourite) Score(_ context.Context, ep *agent.Episode, _ reward.Gold) (reward.Score, error) {
	hit, n := 0, 0
	for _, s := range ep.Context {
		if s.Source != agent.Policy {
			continue
		}
		for _, id := range s.TokenIDs {
			n++
			if id == f.id {
				hit++
			}
		}
	}
	r := 0.0
	if n > 0 {
		r = float64(hit) / float64(n)
	}
	return reward.Score{Total: r, Components: []reward.Component{{Name: "favourite", Value: r}}}, nil
}

func TestLearnsAFavouriteToken(t *testing.T) {
	for _, tc := range []struct {
		est  Estimator
		lr   float64
		want float64
	}{
		{GRPO, 3e-2, 0.5},
		{PPO, 3e-2, 0.5},
	} {
		t.Run(string(tc.est), func(t *testing.T) {
			first, last := learnFavourite(t, tc.est, tc.lr, 40)
			t.Logf("reward %.3f → %.3f, clip %.2f, grad norm %.3f, value loss %.4f", first.Reward, last.Reward, last.ClipFraction, last.GradNorm, last.ValueLoss)
			if last.Reward < tc.want || last.Reward < first.Reward+0.3 {
				t.Errorf("%s did not learn: reward %.3f at step 0, %.3f at the end", tc.est, first.Reward, last.Reward)
			}
		})
	}
}

func learnFavourite(t *testing.T, est Estimator, lr float64, steps int) (first, last StepStats) {
	t.Helper()
	texts := func(yield func(string) bool) {
		for i := range 50 {
			if !yield(fmt.Sprintf("question %d asks about the river and the hill number %d", i, i*7)) {
				return
			}
		}
	}
	tok, err := tokenizer.Train(texts, 300, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(model.Config{Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 2, Vocab: tok.VocabSize(), SeqLen: 64, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, 7)
	if err != nil {
		t.Fatal(err)
	}
	target, ok := tok.TokenID("<answer>")
	if !ok {
		t.Fatal("no <answer> token")
	}
	p, err := agent.ParsePreset("toy", []byte("mode: direct\nprompt: 'Q: {question}\n'\nbudget: {max_turns: 1, turn_tokens: 8}\nsampling: {temperature: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tc := model.DefaultTrainConfig(16, 32)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = lr, lr, 1, 0
	trainer, err := model.NewTrainer(m, tc, 1)
	if err != nil {
		t.Fatal(err)
	}
	client := local.New(m, tok, local.Config{NoBOS: true})
	loop := &Loop{Policy: m, Trainer: trainer, Reward: favourite{target}, Cfg: Config{Estimator: est, Group: 8, Seed: 1},
		Runner: &agent.Runner{Preset: p, Policy: client}}
	batch := []Sample{{ID: "a", Question: "river"}, {ID: "b", Question: "hill"}}
	for step := range steps {
		st, err := loop.Step(context.Background(), step, batch)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = st
		}
		last = st
		if st.Trained != 16 {
			t.Fatalf("step %d trained on %d episodes, want 16", step, st.Trained)
		}
	}
	return first, last
}
