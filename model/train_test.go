package model

import (
	"math"
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

// TestAccumulation: two micro-batches with AccumSteps 2 give the
// gradients of one batch holding both.
func TestAccumulation(t *testing.T) {
	c := tinyConfig()
	const T = 6
	tokens, targets := make([]int, 2*T), make([]int, 2*T)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range tokens {
		tokens[i], targets[i] = rng.IntN(c.Vocab), rng.IntN(c.Vocab)
	}
	grads := func(batch, accum int) []float32 {
		m, err := NewRandom(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		tc := DefaultTrainConfig(batch, T)
		tc.AccumSteps = accum
		tr, err := NewTrainer(m, tc, 1)
		if err != nil {
			t.Fatal(err)
		}
		n := batch * T
		for i := 0; i < len(tokens); i += n {
			if _, err := tr.ForwardBackward(tokens[i:i+n], targets[i:i+n], nil); err != nil {
				t.Fatal(err)
			}
		}
		return tr.Grads
	}
	whole, split := grads(2, 1), grads(1, 2)
	if d := maxAbsDiff(whole, split); d > 1e-6 {
		t.Errorf("accumulated gradients differ by %g", d)
	}
}

func TestScheduleAndClip(t *testing.T) {
	tc := DefaultTrainConfig(1, 4)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = 1, 0.1, 4, 10
	for _, tt := range []struct {
		step int
		want float64
	}{{0, 0.25}, {3, 1}, {4, 1}, {9, 0.55}, {14, 0.1}, {100, 0.1}} {
		if got := tc.LRAt(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("LRAt(%d) = %g, want %g", tt.step, got, tt.want)
		}
	}
	// Restarts from step 20 (past the first cycle's end), cycles of 14:
	// warm-up over 4 steps to 0.5, cosine to the floor over 10. The first
	// cycle's steps do not change; the first restart cycle warms up from
	// where the schedule was (the floor here; mid-decay at step 8), the
	// next ones from the floor.
	rc := tc
	rc.RestartLR, rc.RestartEvery = 0.5, 14
	for _, tt := range []struct {
		restart, step int
		want          float64
	}{{20, 0, 0.25}, {20, 9, 0.55}, {20, 19, 0.1}, {20, 20, 0.2}, {20, 23, 0.5}, {20, 24, 0.5}, {20, 29, 0.3}, {20, 33, 0.1 + 0.2*(1+math.Cos(math.Pi*0.9))},
		{20, 34, 0.2}, {20, 43, 0.3}, {8, 7, tc.LRAt(7)}, {8, 8, tc.LRAt(8) + (0.5-tc.LRAt(8))/4}, {8, 11, 0.5}, {8, 22, 0.2}} {
		rc.RestartStep = tt.restart
		if got := rc.LRAt(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("restart at %d: LRAt(%d) = %g, want %g", tt.restart, tt.step, got, tt.want)
		}
	}
	for _, bad := range []TrainConfig{{RestartStep: 5, RestartEvery: 14}, {RestartStep: 5, RestartLR: 0.5, RestartEvery: 4}} {
		c := tc
		c.RestartStep, c.RestartLR, c.RestartEvery = bad.RestartStep, bad.RestartLR, bad.RestartEvery
		if c.validate() == nil {
			t.Errorf("restart %+v validated", bad)
		}
	}
	m, err := NewRandom(tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	tc.GradClip, tc.WeightDecay = 0.5, 0
	tr, err := NewTrainer(m, tc, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), m.Params...)
	for i := range tr.Grads {
		tr.Grads[i] = 1
	}
	st := tr.Update()
	if want := math.Sqrt(float64(len(tr.Grads))); math.Abs(st.GradNorm-want) > 1e-6*want || st.LR != 0.25 {
		t.Errorf("update stats %+v, want norm %g and lr 0.25", st, want)
	}
	// Adam's first step moves every weight by lr·sign(g) whatever the clip.
	if d := float32(before[0] - m.Params[0]); math.Abs(float64(d)-0.25) > 1e-4 {
		t.Errorf("first AdamW step moved a weight by %g, want 0.25", d)
	}
	for _, g := range tr.Grads {
		if g != 0 {
			t.Fatal("Update left gradients non-zero")
		}
	}
}
