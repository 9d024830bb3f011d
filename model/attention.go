package model

import (
	"math"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// attention.go: the fast training attention. Each (batch, head) is
// gathered into contiguous (T,D) blocks so scores and products run as
// matmuls; attentionForwardRef/attentionBackwardRef in ops.go are the
// slow references it is tested against.
//
// Causal attention never reads keys after the query, so queries go in
// blocks of attnBlock rows and block i multiplies only by keys
// [0, end of block i): the products and the saved probabilities cover the
// lower block triangle, about half of T×T at the quickstart's lengths.
// The probabilities are packed block row after block row, each block row
// (rows, end) with row stride end (attnLen).

// attnBlock is the number of query rows per block: a multiple of the gemm
// tile (6×16 panels) large enough to run the products at speed, small
// enough that the wasted upper half of the diagonal blocks stays small
// (1/(2·blocks) of the work).
const attnBlock = 64

// attnLen is the packed size of one (batch, head)'s probabilities for T
// tokens: Σ over blocks of rows × end.
func attnLen(T int) int {
	n := 0
	for r0 := 0; r0 < T; r0 += attnBlock {
		end := min(T, r0+attnBlock)
		n += (end - r0) * end
	}
	return n
}

// attnScratch is one worker's blocks.
type attnScratch struct {
	q, k, v, y, dk, dv []float32 // (T,D)
	dp                 []float32 // (attnBlock,T): one block row of dP
	slab               []float32 // backing store of the blocks above
}

// fit sizes the blocks for T tokens of head size D, reusing the slab when
// it is large enough.
func (s *attnScratch) fit(T, D int) {
	nd := min(T, attnBlock) * T
	n := 6*T*D + nd
	if cap(s.slab) < n {
		s.slab = make([]float32, n)
	}
	buf := s.slab[:n]
	for _, b := range []*[]float32{&s.q, &s.k, &s.v, &s.y, &s.dk, &s.dv} {
		*b, buf = buf[:T*D:T*D], buf[T*D:]
	}
	s.dp = buf[:nd:nd]
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
// q (B,T,H·D), k and v (B,T,KV·D); att (B,H,attnLen(T)) keeps the
// probabilities in the packed block-triangular layout (zero above the
// diagonal inside the diagonal blocks).
func (m *Model) attentionForward(y, att, q, k, v []float32, B, T int, sc []*attnScratch) {
	c := m.Config
	H, D, C, KVD := c.Heads, c.HeadSize(), c.Dim, c.KVDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	P := attnLen(T)
	parallelEach(len(sc), B*H, B*H*P*D, func(worker, bh int) {
		s := sc[worker]
		b, h := bh/H, bh%H
		kvh := h / (H / c.KVHeads)
		gather(s.q, q, b*T, T, C, h*D, D)
		gather(s.k, k, b*T, T, KVD, kvh*D, D)
		gather(s.v, v, b*T, T, KVD, kvh*D, D)
		p := att[bh*P : (bh+1)*P]
		for r0 := 0; r0 < T; r0 += attnBlock {
			end := min(T, r0+attnBlock)
			rows := end - r0
			pb := p[:rows*end]
			p = p[rows*end:]
			kernels.MatMulT(pb, s.q[r0*D:end*D], s.k[:end*D], rows, D, end, false)
			for i := range rows {
				row := pb[i*end : (i+1)*end]
				n := r0 + i + 1
				kernels.Scale(row[:n], scale)
				kernels.SoftmaxInPlace(row[:n])
				clear(row[n:])
			}
			kernels.MatMulNN(s.y[r0*D:end*D], pb, s.v[:end*D], rows, end, D, false)
		}
		for t := range T {
			copy(y[(b*T+t)*C+h*D:][:D], s.y[t*D:(t+1)*D])
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
	P := attnLen(T)
	parallelEach(len(sc), B*KV, 2*B*H*P*D, func(worker, bk int) {
		s := sc[worker]
		b, kvh := bk/KV, bk%KV
		gather(s.k, k, b*T, T, KVD, kvh*D, D)
		gather(s.v, v, b*T, T, KVD, kvh*D, D)
		clear(s.dk)
		clear(s.dv)
		for h := kvh * group; h < (kvh+1)*group; h++ {
			gather(s.y, dy, b*T, T, C, h*D, D) // s.y holds dy, then dq, block by block
			gather(s.q, q, b*T, T, C, h*D, D)
			attentionBackwardHead(s, att[(b*H+h)*P:(b*H+h+1)*P], T, D, scale)
			scatterAdd(dq, s.y, b*T, T, C, h*D, D)
		}
		scatterAdd(dk, s.dk, b*T, T, KVD, kvh*D, D)
		scatterAdd(dv, s.dv, b*T, T, KVD, kvh*D, D)
	})
}

// attentionBackwardHead runs one head's backward on the gathered blocks:
// s.y holds dY on entry and dQ on return; dK, dV accumulate into s.dk,
// s.dv. p is the head's packed probabilities.
func attentionBackwardHead(s *attnScratch, p []float32, T, D int, scale float32) {
	for r0 := 0; r0 < T; r0 += attnBlock {
		end := min(T, r0+attnBlock)
		rows := end - r0
		pb, dp := p[:rows*end], s.dp[:rows*end]
		p = p[rows*end:]
		dyb := s.y[r0*D : end*D]
		kernels.MatMulT(dp, dyb, s.v[:end*D], rows, D, end, false) // dP = dY·Vᵀ
		kernels.MatMulTN(s.dv[:end*D], pb, dyb, end, rows, D)      // dV += Pᵀ·dY
		for i := range rows {
			n := r0 + i + 1
			pr, dr := pb[i*end:i*end+n], dp[i*end:i*end+n]
			sum := kernels.Dot(pr, dr)
			for j := range dr {
				dr[j] = pr[j] * (dr[j] - sum) * scale
			}
			clear(dp[i*end+n : (i+1)*end])
		}
		kernels.MatMulNN(dyb, dp, s.k[:end*D], rows, end, D, false)       // dQ = dS·K (dY's block is spent)
		kernels.MatMulTN(s.dk[:end*D], dp, s.q[r0*D:end*D], end, rows, D) // dK += dSᵀ·Q
	}
}
