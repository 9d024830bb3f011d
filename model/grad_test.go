package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Finite-difference checks for every forward/backward pair in ops.go and
// for the whole model. Each op's output is reduced to a scalar loss
// Σ out ⊙ r with a fixed random r, so dout = r.

func randSlice(rng *rand.Rand, n int, std float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * std)
	}
	return s
}

func dotF64(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// checkGrad compares analytic gradients of loss w.r.t. x with central
// differences at every element (or every stride-th one), reporting the
// worst error relative to the largest gradient.
func checkGrad(t *testing.T, name string, x, analytic []float32, loss func() float64) {
	t.Helper()
	const h = 3e-3
	stride := max(1, len(x)/40)
	worst, scale := 0.0, 1e-6
	for i := 0; i < len(x); i += stride {
		orig := x[i]
		x[i] = orig + h
		lp := loss()
		x[i] = orig - h
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * h)
		worst = max(worst, math.Abs(num-float64(analytic[i])))
		scale = max(scale, math.Abs(num))
	}
	if rel := worst / scale; rel > 1e-2 {
		t.Errorf("%s: max |analytic - numeric| = %.3g, %.3g of the largest gradient %.3g", name, worst, rel, scale)
	}
}

func TestOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := Config{Arch: "llama", Dim: 8, HiddenDim: 12, Layers: 1, Heads: 2, KVHeads: 1, Vocab: 7, SeqLen: 8, RopeTheta: 10000, NormEps: 1e-5}
	m, err := NewRandom(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 2, 4
	N, C, KVD := B*T, cfg.Dim, cfg.KVDim()
	t.Run("rmsnorm", func(t *testing.T) {
		x, w, r := randSlice(rng, N*C, 1), randSlice(rng, C, 1), randSlice(rng, N*C, 1)
		out, rstd := make([]float32, N*C), make([]float32, N)
		loss := func() float64 { rmsnormForward(out, rstd, x, w, 1e-5); return dotF64(out, r) }
		loss()
		dx, dw := make([]float32, N*C), make([]float32, C)
		rmsnormBackward(dx, dw, r, x, w, rstd)
		checkGrad(t, "dx", x, dx, loss)
		checkGrad(t, "dw", w, dw, loss)
	})
	t.Run("swiglu", func(t *testing.T) {
		h1, h3, r := randSlice(rng, 30, 2), randSlice(rng, 30, 1), randSlice(rng, 30, 1)
		out, sig := make([]float32, 30), make([]float32, 30)
		loss := func() float64 { swigluForward(out, sig, h1, h3); return dotF64(out, r) }
		loss()
		dh1, dh3 := make([]float32, 30), make([]float32, 30)
		swigluBackward(dh1, dh3, r, append([]float32(nil), sig...), h1, h3)
		checkGrad(t, "dh1", h1, dh1, loss)
		checkGrad(t, "dh3", h3, dh3, loss)
	})
	t.Run("linear", func(t *testing.T) {
		const IC, OC = 5, 3
		inp, w, b, r := randSlice(rng, N*IC, 1), randSlice(rng, OC*IC, 1), randSlice(rng, OC, 1), randSlice(rng, N*OC, 1)
		out := make([]float32, N*OC)
		loss := func() float64 { m.linearForward(out, inp, w, b, N, IC, OC); return dotF64(out, r) }
		din, dw, db := make([]float32, N*IC), make([]float32, OC*IC), make([]float32, OC)
		m.linearBackward(din, dw, db, r, inp, w, N, IC, OC)
		checkGrad(t, "dinp", inp, din, loss)
		checkGrad(t, "dw", w, dw, loss)
		checkGrad(t, "db", b, db, loss)
	})
	for _, layout := range []RopeLayout{RopeHalf, RopeInterleaved} {
		t.Run(fmt.Sprintf("rope%d", layout), func(t *testing.T) {
			m.Config.RopeLayout = layout
			x, r := randSlice(rng, N*C, 1), randSlice(rng, N*C, 1)
			out := make([]float32, N*C)
			loss := func() float64 { copy(out, x); m.ropeForward(out, N, T, cfg.Heads, 1); return dotF64(out, r) }
			dx := append([]float32(nil), r...)
			m.ropeForward(dx, N, T, cfg.Heads, -1)
			checkGrad(t, "dx", x, dx, loss)
		})
	}
	t.Run("attention", func(t *testing.T) {
		q, k, v, r := randSlice(rng, N*C, 1), randSlice(rng, N*KVD, 1), randSlice(rng, N*KVD, 1), randSlice(rng, N*C, 1)
		y, att := make([]float32, N*C), make([]float32, B*cfg.Heads*T*T)
		sc := []*attnScratch{{}, {}}
		for _, s := range sc {
			s.fit(T, cfg.HeadSize())
		}
		loss := func() float64 { m.attentionForward(y, att, q, k, v, B, T, sc); return dotF64(y, r) }
		loss()
		dq, dk, dv := make([]float32, N*C), make([]float32, N*KVD), make([]float32, N*KVD)
		m.attentionBackward(dq, dk, dv, r, att, q, k, v, B, T, sc)
		checkGrad(t, "dq", q, dq, loss)
		checkGrad(t, "dk", k, dk, loss)
		checkGrad(t, "dv", v, dv, loss)
		// The fast path agrees with the slow reference.
		loss()
		yRef, attRef := make([]float32, N*C), make([]float32, B*cfg.Heads*T*T)
		m.attentionForwardRef(yRef, attRef, q, k, v, B, T)
		dqRef, dkRef, dvRef := make([]float32, N*C), make([]float32, N*KVD), make([]float32, N*KVD)
		m.attentionBackwardRef(dqRef, dkRef, dvRef, r, attRef, q, k, v, B, T, [][]float32{make([]float32, T), make([]float32, T)})
		for name, pair := range map[string][2][]float32{"y": {y, yRef}, "dq": {dq, dqRef}, "dk": {dk, dkRef}, "dv": {dv, dvRef}} {
			if d := maxAbsDiff(pair[0], pair[1]); d > 1e-5 {
				t.Errorf("attention %s: fast and reference differ by %g", name, d)
			}
		}
	})
	t.Run("crossentropy", func(t *testing.T) {
		const V = 7
		logits := randSlice(rng, N*V, 2)
		targets := []int{0, 3, -1, 6, 2, 2, 5, 1}
		weights := randSlice(rng, N, 1)
		work, logp := make([]float32, N*V), make([]float32, N)
		loss := func() float64 { copy(work, logits); return crossEntropyForward(logp, work, targets, weights, V) }
		loss()
		crossEntropyBackward(work, targets, weights, V)
		checkGrad(t, "dlogits", logits, append([]float32(nil), work...), loss)
	})
}

// TestModelGradient checks the assembled backward of small models against
// finite differences of the loss, a few entries of every tensor.
func TestModelGradient(t *testing.T) {
	base := Config{Arch: "llama", Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 1, Vocab: 11, SeqLen: 8, RopeTheta: 10000, NormEps: 1e-5}
	cases := map[string]func(c *Config){
		"tied-half":          func(c *Config) { c.TiedEmbeddings = true },
		"untied-interleaved": func(c *Config) { c.RopeLayout = RopeInterleaved },
		"qwen2-bias":         func(c *Config) { c.Arch, c.QKVBias, c.KVHeads = "qwen2", true, 2 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			edit(&cfg)
			m, err := NewRandom(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			for i := range m.Params { // larger weights make gradients measurable in float32
				m.Params[i] += float32(rng.NormFloat64() * 0.3)
			}
			const B, T = 2, 5
			tr, err := NewTrainer(m, DefaultTrainConfig(B, T), 1)
			if err != nil {
				t.Fatal(err)
			}
			tokens, targets := make([]int, B*T), make([]int, B*T)
			for i := range tokens {
				tokens[i], targets[i] = rng.IntN(cfg.Vocab), rng.IntN(cfg.Vocab)
			}
			targets[3] = -1
			if _, err := tr.ForwardBackward(tokens, targets, nil); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 { l, _ := tr.Loss(tokens, targets, nil); return l }
			for _, ti := range Layout(cfg) {
				checkGrad(t, ti.Name, m.Params[ti.Off:ti.Off+ti.Size], tr.Grads[ti.Off:ti.Off+ti.Size], loss)
			}
		})
	}
}
