package model

import (
	"math"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// ops.go: the training ops, each a forward/backward pair in llm.c's style.
// Shapes use the legend in doc.go with N = B·T rows. Every backward adds
// (+=) into its gradient outputs, so callers zero gradients once per step.

// embeddingForward: out (N,C) = wte[tokens] with wte (V,C).
func embeddingForward(out []float32, tokens []int, wte []float32, C int) {
	for i, t := range tokens {
		copy(out[i*C:(i+1)*C], wte[t*C:(t+1)*C])
	}
}

// embeddingBackward: dwte (V,C) += dout (N,C) scattered by tokens (N).
func embeddingBackward(dwte, dout []float32, tokens []int, C int) {
	for i, t := range tokens {
		kernels.Add(dwte[t*C:(t+1)*C], dwte[t*C:(t+1)*C], dout[i*C:(i+1)*C])
	}
}

// rmsnormForward: out (N,C) = x/rms(x) ⊙ w, rstd (N) kept for backward.
func rmsnormForward(out, rstd, x, w []float32, eps float32) {
	C := len(w)
	parallelFor(len(rstd), len(rstd)*C*2, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			rstd[i] = kernels.RMSNorm(out[i*C:(i+1)*C], x[i*C:(i+1)*C], w, eps)
		}
	})
}

// rmsnormBackward: with y = x·r ⊙ w and r = (mean(x²)+eps)^-½,
// dw += Σ_rows dout ⊙ x·r and dx += r·(dout ⊙ w) − r³/C · x · Σ(dout ⊙ w ⊙ x).
func rmsnormBackward(dx, dw, dout, x, w, rstd []float32) {
	C := len(w)
	for i, r := range rstd {
		xi, di, dxi := x[i*C:(i+1)*C], dout[i*C:(i+1)*C], dx[i*C:(i+1)*C]
		var dot float32
		for j := range C {
			dot += di[j] * w[j] * xi[j]
			dw[j] += di[j] * xi[j] * r
		}
		c := r * r * r * dot / float32(C)
		for j := range C {
			dxi[j] += r*di[j]*w[j] - c*xi[j]
		}
	}
}

// linearForward: out (N,OC) = inp (N,IC) · w(OC,IC)ᵀ + b (OC, may be nil).
func (m *Model) linearForward(out, inp, w, b []float32, N, IC, OC int) {
	m.mm.MatMulT(out[:N*OC], inp[:N*IC], w, N, IC, OC, false)
	if b != nil {
		for i := range N {
			kernels.Add(out[i*OC:(i+1)*OC], out[i*OC:(i+1)*OC], b)
		}
	}
}

// linearBackward: dinp (N,IC) += dout (N,OC) · w (OC,IC);
// dw (OC,IC) += doutᵀ · inp; db (OC) += Σ_rows dout (when db is non-nil).
func (m *Model) linearBackward(dinp, dw, db, dout, inp, w []float32, N, IC, OC int) {
	m.mm.MatMulNN(dinp[:N*IC], dout[:N*OC], w, N, OC, IC, true)
	m.mm.MatMulTN(dw, dout[:N*OC], inp[:N*IC], OC, N, IC)
	if db != nil {
		for i := range N {
			kernels.Add(db, db, dout[i*OC:(i+1)*OC])
		}
	}
}

// ropeForward rotates x (B,T,heads·D) in place, row t to position t; the
// backward is the same call with sign -1 on the gradient.
func (m *Model) ropeForward(x []float32, N, T, heads int, sign float32) {
	w := heads * m.Config.HeadSize()
	for i := range N {
		m.rope(x[i*w:(i+1)*w], heads, i%T, sign)
	}
}

// attentionForwardRef is the slow reference for attentionForward:
// y (B,T,H·D) = softmax(q·kᵀ/√D, causal) · v with
// q (B,T,H·D), k and v (B,T,KV·D); att (B,H,T,T) keeps the probabilities.
func (m *Model) attentionForwardRef(y, att, q, k, v []float32, B, T int) {
	c := m.Config
	H, D, C, KVD := c.Heads, c.HeadSize(), c.Dim, c.KVDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	parallelFor(B*H, B*H*T*T*D, func(_, lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			kvh := h / (H / c.KVHeads)
			for t := range T {
				qt := q[(b*T+t)*C+h*D:][:D]
				p := att[(bh*T+t)*T:][:t+1]
				for s := range p {
					p[s] = kernels.Dot(qt, k[(b*T+s)*KVD+kvh*D:][:D]) * scale
				}
				kernels.SoftmaxInPlace(p)
				yt := y[(b*T+t)*C+h*D:][:D]
				clear(yt)
				for s, ps := range p {
					kernels.Axpy(ps, v[(b*T+s)*KVD+kvh*D:][:D], yt)
				}
			}
		}
	})
}

// attentionBackwardRef is the slow reference for attentionBackward: from dy (B,T,H·D) and the saved att, q, k, v, adds
// dq (B,T,H·D), dk and dv (B,T,KV·D). Work is split by (batch, kv head) so
// the query heads sharing one kv head never race on dk, dv.
func (m *Model) attentionBackwardRef(dq, dk, dv, dy, att, q, k, v []float32, B, T int, scratch [][]float32) {
	c := m.Config
	H, KV, D, C, KVD := c.Heads, c.KVHeads, c.HeadSize(), c.Dim, c.KVDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	group := H / KV
	parallelForW(len(scratch), B*KV, B*H*T*T*D, func(worker, lo, hi int) {
		dp := scratch[worker][:T]
		for bk := lo; bk < hi; bk++ {
			b, kvh := bk/KV, bk%KV
			for h := kvh * group; h < (kvh+1)*group; h++ {
				for t := range T {
					p := att[((b*H+h)*T+t)*T:][:t+1]
					dyt := dy[(b*T+t)*C+h*D:][:D]
					qt, dqt := q[(b*T+t)*C+h*D:][:D], dq[(b*T+t)*C+h*D:][:D]
					var pdp float32
					for s, ps := range p {
						vs := (b*T+s)*KVD + kvh*D
						dp[s] = kernels.Dot(dyt, v[vs:vs+D])
						pdp += ps * dp[s]
						kernels.Axpy(ps, dyt, dv[vs:vs+D])
					}
					for s, ps := range p {
						ds := ps * (dp[s] - pdp) * scale
						ks := (b*T+s)*KVD + kvh*D
						kernels.Axpy(ds, k[ks:ks+D], dqt)
						kernels.Axpy(ds, qt, dk[ks:ks+D])
					}
				}
			}
		}
	})
}

// swigluForward: out (N,F) = silu(h1) ⊙ h3 with silu(g) = g·σ(g); sig (N,F)
// keeps σ(h1) so the backward needs no exp.
func swigluForward(out, sig, h1, h3 []float32) {
	parallelFor(len(out), 8*len(out), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			g := h1[i]
			sg := float32(1 / (1 + math.Exp(-float64(g))))
			sig[i] = sg
			out[i] = g * sg * h3[i]
		}
	})
}

// swigluBackward: dh1 += dout ⊙ h3 ⊙ silu'(h1), dh3 += dout ⊙ silu(h1),
// with silu'(g) = σ(g)·(1 + g·(1−σ(g))).
func swigluBackward(dh1, dh3, dout, sig, h1, h3 []float32) {
	parallelFor(len(h1), 4*len(h1), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			g, sg := h1[i], sig[i]
			dh1[i] += dout[i] * h3[i] * sg * (1 + g*(1-sg))
			dh3[i] += dout[i] * g * sg
		}
	})
}

// crossEntropyForward turns logits (N,V) into probabilities in place and
// returns Σ_i weights[i]·(−log p(targets[i])); logp (N) receives
// log p(targets[i]). Rows with target < 0 are skipped (logp 0).
func crossEntropyForward(logp, logits []float32, targets []int, weights []float32, V int) float64 {
	parallelFor(len(targets), len(targets)*V*4, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			tg, row := targets[i], logits[i*V:(i+1)*V]
			mx, lt := kernels.Max(row), float32(0)
			if tg >= 0 {
				lt = row[tg]
			}
			kernels.SoftmaxInPlace(row)
			logp[i] = 0
			if tg >= 0 {
				// log p = logit − max − log Σ, and the max's probability
				// is 1/Σ; this stays exact when p underflows float32.
				logp[i] = float32(float64(lt-mx) + math.Log(float64(kernels.Max(row))))
			}
		}
	})
	loss := 0.0
	for i, tg := range targets {
		if tg >= 0 {
			loss -= float64(weights[i]) * float64(logp[i])
		}
	}
	return loss
}

// crossEntropyBackward: dlogits (N,V) = weights[i]·(probs − onehot(target)),
// written over probs (the loss is the last op, so nothing is accumulated).
func crossEntropyBackward(probs []float32, targets []int, weights []float32, V int) {
	for i, tg := range targets {
		row := probs[i*V : (i+1)*V]
		if tg < 0 || weights[i] == 0 {
			clear(row)
			continue
		}
		kernels.Scale(row, weights[i])
		row[tg] -= weights[i]
	}
}
