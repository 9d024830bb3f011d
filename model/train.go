package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
)

// layerActs are the activations one layer saves for its backward pass.
type layerActs struct {
	x            []float32 // (N,C) layer input (residual stream)
	ln1, ln2     []float32 // (N,C) normed inputs to attention and MLP
	rstd1, rstd2 []float32 // (N)
	q, y, xMid   []float32 // (N,C) roped queries, attention output, mid residual
	k, v         []float32 // (N,KV·D) roped keys, values
	att          []float32 // (B,H,T,T) attention probabilities
	h1, h3, hg   []float32 // (N,F) gate, up, silu(gate)⊙up
	sig          []float32 // (N,F) σ(gate)
}

// acts is a full (B,T) training pass: saved activations and gradient
// scratch, carved from one buffer.
type acts struct {
	B, T                     int
	buf                      []float32
	layers                   []layerActs
	xOut, lnf, rstdf, logits []float32 // (N,C) (N,C) (N) (N,V)
	logp                     []float32 // (N) log p(target)
	dx, dln, dq, dy          []float32 // (N,C)
	dk, dv                   []float32 // (N,KV·D)
	dh1, dh3, dhg            []float32 // (N,F)
	scratch                  []*attnScratch
	weights                  []float32 // (N) default per-token weights
}

// newActs lays the (B,T) pass's activations over arena, growing it when
// it is too small, and fits the attention scratch (one per worker, reused
// across shapes too). Only one shape's activations are live at a time:
// reallocating and zeroing them for each new shape of a bucketed batch
// was 4% of pre-training's CPU time, all of it on the critical path.
func newActs(c Config, B, T int, arena *[]float32, scratch *[]*attnScratch) *acts {
	N, C, F, KVD := B*T, c.Dim, c.HiddenDim, c.KVDim()
	sizes := []int{}
	var views []*[]float32
	want := func(v *[]float32, n int) { views, sizes = append(views, v), append(sizes, n) }
	a := &acts{B: B, T: T, layers: make([]layerActs, c.Layers)}
	for i := range a.layers {
		la := &a.layers[i]
		for _, v := range []*[]float32{&la.x, &la.ln1, &la.ln2, &la.q, &la.y, &la.xMid} {
			want(v, N*C)
		}
		want(&la.rstd1, N)
		want(&la.rstd2, N)
		want(&la.k, N*KVD)
		want(&la.v, N*KVD)
		want(&la.att, B*c.Heads*T*T)
		for _, v := range []*[]float32{&la.h1, &la.h3, &la.hg, &la.sig} {
			want(v, N*F)
		}
	}
	for _, v := range []*[]float32{&a.xOut, &a.lnf, &a.dx, &a.dln, &a.dq, &a.dy} {
		want(v, N*C)
	}
	want(&a.rstdf, N)
	want(&a.logp, N)
	want(&a.weights, N)
	want(&a.logits, N*c.Vocab)
	want(&a.dk, N*KVD)
	want(&a.dv, N*KVD)
	for _, v := range []*[]float32{&a.dh1, &a.dh3, &a.dhg} {
		want(v, N*F)
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	if cap(*arena) < total {
		*arena = make([]float32, total)
	}
	a.buf = (*arena)[:total]
	off := 0
	for i, v := range views {
		*v = a.buf[off : off+sizes[i] : off+sizes[i]]
		off += sizes[i]
	}
	for len(*scratch) < runtime.GOMAXPROCS(0) {
		*scratch = append(*scratch, &attnScratch{})
	}
	for _, sc := range *scratch {
		sc.fit(T, c.HeadSize())
	}
	a.scratch = *scratch
	return a
}

// trainForward runs the (B,T) batch and returns Σ weights·(−log p(target)).
func (m *Model) trainForward(a *acts, tokens, targets []int, weights []float32) float64 {
	c := m.Config
	B, T, N, C, F, KVD := a.B, a.T, a.B*a.T, c.Dim, c.HiddenDim, c.KVDim()
	eps := float32(c.NormEps)
	embeddingForward(a.layers[0].x, tokens, m.W.Embed, C)
	for l := range m.W.Layers {
		w, la := &m.W.Layers[l], &a.layers[l]
		next := a.xOut
		if l+1 < len(a.layers) {
			next = a.layers[l+1].x
		}
		rmsnormForward(la.ln1, la.rstd1, la.x, w.Attn.Norm, eps)
		m.linearForward(la.q, la.ln1, w.Attn.Wq, w.Attn.Bq, N, C, C)
		m.linearForward(la.k, la.ln1, w.Attn.Wk, w.Attn.Bk, N, C, KVD)
		m.linearForward(la.v, la.ln1, w.Attn.Wv, w.Attn.Bv, N, C, KVD)
		m.ropeForward(la.q, N, T, c.Heads, 1)
		m.ropeForward(la.k, N, T, c.KVHeads, 1)
		m.attentionForward(la.y, la.att, la.q, la.k, la.v, B, T, a.scratch)
		m.linearForward(la.xMid, la.y, w.Attn.Wo, nil, N, C, C)
		addInPlace(la.xMid, la.x)
		rmsnormForward(la.ln2, la.rstd2, la.xMid, w.MLP.Norm, eps)
		m.linearForward(la.h1, la.ln2, w.MLP.W1, nil, N, C, F)
		m.linearForward(la.h3, la.ln2, w.MLP.W3, nil, N, C, F)
		swigluForward(la.hg, la.sig, la.h1, la.h3)
		m.linearForward(next, la.hg, w.MLP.W2, nil, N, F, C)
		addInPlace(next, la.xMid)
	}
	rmsnormForward(a.lnf, a.rstdf, a.xOut, m.W.FinalNorm, eps)
	m.linearForward(a.logits, a.lnf, m.W.Output, nil, N, C, c.Vocab)
	return crossEntropyForward(a.logp, a.logits, targets, weights, c.Vocab)
}

// trainBackward adds the gradients of the last trainForward's loss to g.
func (m *Model) trainBackward(a *acts, g *Weights, tokens, targets []int, weights []float32) {
	c := m.Config
	B, T, N, C, F, KVD := a.B, a.T, a.B*a.T, c.Dim, c.HiddenDim, c.KVDim()
	crossEntropyBackward(a.logits, targets, weights, c.Vocab)
	clear(a.dln)
	m.linearBackward(a.dln, g.Output, nil, a.logits, a.lnf, m.W.Output, N, C, c.Vocab)
	clear(a.dx)
	rmsnormBackward(a.dx, g.FinalNorm, a.dln, a.xOut, m.W.FinalNorm, a.rstdf)
	for l := len(m.W.Layers) - 1; l >= 0; l-- {
		w, gw, la := &m.W.Layers[l], &g.Layers[l], &a.layers[l]
		// MLP branch: out = xMid + W2·(silu(W1·ln2) ⊙ W3·ln2); dx holds dout.
		clear(a.dhg)
		m.linearBackward(a.dhg, gw.MLP.W2, nil, a.dx, la.hg, w.MLP.W2, N, F, C)
		clear(a.dh1)
		clear(a.dh3)
		swigluBackward(a.dh1, a.dh3, a.dhg, la.sig, la.h1, la.h3)
		clear(a.dln)
		m.linearBackward(a.dln, gw.MLP.W1, nil, a.dh1, la.ln2, w.MLP.W1, N, C, F)
		m.linearBackward(a.dln, gw.MLP.W3, nil, a.dh3, la.ln2, w.MLP.W3, N, C, F)
		rmsnormBackward(a.dx, gw.MLP.Norm, a.dln, la.xMid, w.MLP.Norm, la.rstd2)
		// Attention branch: xMid = x + Wo·attn(rope(Wq·ln1), rope(Wk·ln1), Wv·ln1).
		clear(a.dy)
		m.linearBackward(a.dy, gw.Attn.Wo, nil, a.dx, la.y, w.Attn.Wo, N, C, C)
		clear(a.dq)
		clear(a.dk)
		clear(a.dv)
		m.attentionBackward(a.dq, a.dk, a.dv, a.dy, la.att, la.q, la.k, la.v, B, T, a.scratch)
		m.ropeForward(a.dq, N, T, c.Heads, -1)
		m.ropeForward(a.dk, N, T, c.KVHeads, -1)
		clear(a.dln)
		m.linearBackward(a.dln, gw.Attn.Wq, gw.Attn.Bq, a.dq, la.ln1, w.Attn.Wq, N, C, C)
		m.linearBackward(a.dln, gw.Attn.Wk, gw.Attn.Bk, a.dk, la.ln1, w.Attn.Wk, N, C, KVD)
		m.linearBackward(a.dln, gw.Attn.Wv, gw.Attn.Bv, a.dv, la.ln1, w.Attn.Wv, N, C, KVD)
		rmsnormBackward(a.dx, gw.Attn.Norm, a.dln, la.x, w.Attn.Norm, la.rstd1)
	}
	embeddingBackward(g.Embed, a.dx, tokens, C)
}

func addInPlace(dst, x []float32) {
	for i, v := range x[:len(dst)] {
		dst[i] += v
	}
}

// NewRandom makes a model with seeded random weights for training from
// scratch: N(0, 0.02) matrices, with the residual projections (o_proj,
// down_proj) scaled by 1/√(2L) as in GPT-2; norms 1, biases 0.
func NewRandom(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	params := make([]float32, NumParams(cfg))
	rng := rand.New(rand.NewPCG(seed, 0x51e0_7a1d))
	resid := 1 / math.Sqrt(2*float64(cfg.Layers))
	for _, t := range Layout(cfg) {
		p := params[t.Off : t.Off+t.Size]
		switch {
		case strings.HasSuffix(t.Name, "norm.weight"):
			for i := range p {
				p[i] = 1
			}
		case strings.HasSuffix(t.Name, ".bias"):
		default:
			std := 0.02
			if strings.Contains(t.Name, "o_proj") || strings.Contains(t.Name, "down_proj") {
				std *= resid
			}
			for i := range p {
				p[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
	return New(cfg, params)
}

// checkBatch validates a (B,T) training batch against the model.
func (m *Model) checkBatch(a *acts, tokens, targets []int, weights []float32) error {
	N := a.B * a.T
	if len(tokens) != N || len(targets) != N || (weights != nil && len(weights) != N) {
		return fmt.Errorf("train: batch needs %d×%d tokens, targets and weights; got %d, %d, %d",
			a.B, a.T, len(tokens), len(targets), len(weights))
	}
	if a.T > m.Config.SeqLen {
		return fmt.Errorf("train: sequence length %d exceeds the model's %d", a.T, m.Config.SeqLen)
	}
	for i, t := range tokens {
		if t < 0 || t >= m.Config.Vocab {
			return fmt.Errorf("train: token %d at index %d outside vocabulary [0,%d)", t, i, m.Config.Vocab)
		}
		if tg := targets[i]; tg >= m.Config.Vocab {
			return fmt.Errorf("train: target %d at index %d outside vocabulary [0,%d)", tg, i, m.Config.Vocab)
		}
	}
	return nil
}
