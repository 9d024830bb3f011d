package model

import (
	"math"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// attention.go: the fast training attention. Each (batch, head) is
// gathered into contiguous (T,D) blocks so scores and products run as
// matmuls; attentionForwardRef/attentionBackwardRef in ops.go are the
// slow references it is tested against.

// attnScratch is one worker's blocks.
type attnScratch struct {
	q, k, v, y, dk, dv []float32 // (T,D)
	dp                 []float32 // (T,T)
	slab               []float32 // backing store of the blocks above
}

// fit sizes the blocks for T tokens of head size D, reusing the slab when
// it is large enough.
func (s *attnScratch) fit(T, D int) {
	n := 6*T*D + T*T
	if cap(s.slab) < n {
		s.slab = make([]float32, n)
	}
	buf := s.slab[:n]
	for _, b := range []*[]float32{&s.q, &s.k, &s.v, &s.y, &s.dk, &s.dv} {
		*b, buf = buf[:T*D:T*D], buf[T*D:]
	}
	s.dp = buf[: T*T : T*T]
}

// gather copies head block cols [off, off+D) of rows (T, width) starting at
// row r0 into dst (T,D); scatterAdd is its adjoint.
func gather(dst, src []float32, r0, T, width, off, D int) {
	for t := range T {
		copy(dst[t*D:(t+1)*D], src[(r0+t)*width+off:])
	}
}

func scatterAdd(dst, src []float32, r0, T, width, off, D int) {
	for t := range T {
		kernels.Add(dst[(r0+t)*width+off:][:D], dst[(r0+t)*width+off:][:D], src[t*D:(t+1)*D])
	}
}

// attentionForward: y (B,T,H·D) = softmax(q·kᵀ/√D, causal) · v with
// q (B,T,H·D), k and v (B,T,KV·D); att (B,H,T,T) keeps the probabilities
// (zero above the diagonal).
func (m *Model) attentionForward(y, att, q, k, v []float32, B, T int, sc []*attnScratch) {
	c := m.Config
	H, D, C, KVD := c.Heads, c.HeadSize(), c.Dim, c.KVDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	parallelForW(len(sc), B*H, B*H*T*T*D, func(worker, lo, hi int) {
		s := sc[worker]
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			kvh := h / (H / c.KVHeads)
			gather(s.q, q, b*T, T, C, h*D, D)
			gather(s.k, k, b*T, T, KVD, kvh*D, D)
			gather(s.v, v, b*T, T, KVD, kvh*D, D)
			p := att[bh*T*T : (bh+1)*T*T]
			kernels.MatMulT(p, s.q, s.k, T, D, T, false)
			for t := range T {
				row := p[t*T : (t+1)*T]
				kernels.Scale(row[:t+1], scale)
				kernels.SoftmaxInPlace(row[:t+1])
				clear(row[t+1:])
			}
			kernels.MatMulNN(s.y, p, s.v, T, T, D, false)
			for t := range T {
				copy(y[(b*T+t)*C+h*D:][:D], s.y[t*D:(t+1)*D])
			}
		}
	})
}

// attentionBackward: from dy (B,T,H·D) and the saved att, q, k, v, adds
// dq (B,T,H·D), dk and dv (B,T,KV·D). Work is split by (batch, kv head) so
// the query heads sharing one kv head never race on dk, dv.
func (m *Model) attentionBackward(dq, dk, dv, dy, att, q, k, v []float32, B, T int, sc []*attnScratch) {
	c := m.Config
	H, KV, D, C, KVD := c.Heads, c.KVHeads, c.HeadSize(), c.Dim, c.KVDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	group := H / KV
	parallelForW(len(sc), B*KV, B*H*T*T*D, func(worker, lo, hi int) {
		s := sc[worker]
		for bk := lo; bk < hi; bk++ {
			b, kvh := bk/KV, bk%KV
			gather(s.k, k, b*T, T, KVD, kvh*D, D)
			gather(s.v, v, b*T, T, KVD, kvh*D, D)
			clear(s.dk)
			clear(s.dv)
			for h := kvh * group; h < (kvh+1)*group; h++ {
				p := att[(b*H+h)*T*T : (b*H+h+1)*T*T]
				gather(s.y, dy, b*T, T, C, h*D, D) // s.y holds dy's block
				gather(s.q, q, b*T, T, C, h*D, D)
				kernels.MatMulT(s.dp, s.y, s.v, T, D, T, false) // dP = dY·Vᵀ
				kernels.MatMulTN(s.dv, p, s.y, T, T, D)         // dV += Pᵀ·dY
				for t := range T {
					pr, dr := p[t*T:t*T+t+1], s.dp[t*T:t*T+t+1]
					sum := kernels.Dot(pr, dr)
					for j := range dr {
						dr[j] = pr[j] * (dr[j] - sum) * scale
					}
					clear(s.dp[t*T+t+1 : (t+1)*T])
				}
				kernels.MatMulNN(s.y, s.dp, s.k, T, T, D, false) // dQ = dS·K
				scatterAdd(dq, s.y, b*T, T, C, h*D, D)
				kernels.MatMulTN(s.dk, s.dp, s.q, T, T, D) // dK += dSᵀ·Q
			}
			scatterAdd(dk, s.dk, b*T, T, KVD, kvh*D, D)
			scatterAdd(dv, s.dv, b*T, T, KVD, kvh*D, D)
		}
	})
}
