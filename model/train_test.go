package model

import (
	"math/rand/v2"
	"testing"
	"time"
)

// copyBatch makes B sequences "x1..xn SEP x1..xn" with targets only on the
// copy half, so accuracy measures recall through attention.
func copyBatch(rng *rand.Rand, B, n, vocab int) (tokens, targets []int) {
	T := 2*n + 1
	tokens, targets = make([]int, B*T), make([]int, B*T)
	for b := range B {
		row, tg := tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T]
		for i := range n {
			row[i] = 2 + rng.IntN(vocab-2)
			row[n+1+i] = row[i]
		}
		row[n] = 1
		for i := range T {
			tg[i] = -1
			if i >= n && i+1 < T {
				tg[i] = row[i+1]
			}
		}
	}
	return tokens, targets
}

func accuracy(tr *Trainer, targets []int) float64 {
	ok, all := 0, 0
	a := tr.acts
	V := tr.Model.Config.Vocab
	for i, tg := range targets {
		if tg < 0 {
			continue
		}
		probs := a.logits[i*V : (i+1)*V]
		best := 0
		for j, p := range probs {
			if p > probs[best] {
				best = j
			}
		}
		all++
		if best == tg {
			ok++
		}
	}
	return float64(ok) / float64(all)
}

// TestLearnsCopy trains a from-scratch 2-layer model on a copy task to
// ≥99% token accuracy (the brief's bar: under a minute on 2 cores).
func TestLearnsCopy(t *testing.T) {
	const B, n, vocab = 32, 8, 12
	cfg := Config{Arch: "llama", Dim: 32, HiddenDim: 64, Layers: 2, Heads: 2, KVHeads: 2, Vocab: vocab, SeqLen: 2*n + 1,
		RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}
	m, err := NewRandom(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig(B, 2*n+1)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps, tc.WeightDecay = 1e-2, 1e-3, 20, 600, 0
	tr, err := NewTrainer(m, tc, 9)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	acc := 0.0
	for step := 0; step < 600; step++ {
		tokens, targets := copyBatch(tr.RNG, B, n, vocab)
		loss, err := tr.ForwardBackward(tokens, targets, nil)
		if err != nil {
			t.Fatal(err)
		}
		tr.Update()
		if step%20 == 0 {
			tokens, targets = copyBatch(tr.RNG, B, n, vocab)
			if _, err := tr.Loss(tokens, targets, nil); err != nil {
				t.Fatal(err)
			}
			acc = accuracy(tr, targets)
			t.Logf("step %d loss %.4f held-out accuracy %.3f", step, loss, acc)
			if acc >= 0.995 {
				break
			}
		}
	}
	t.Logf("copy task: accuracy %.3f after %v", acc, time.Since(start))
	if acc < 0.99 {
		t.Errorf("accuracy %.3f < 0.99", acc)
	}
}
