package model

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// Model is a Llama-family decoder: its config, one flat parameter buffer
// and the named views into it. Inference methods (Generate, Score, Logits)
// only read the parameters and may run concurrently with each other, but
// not with a training step that updates them.
type Model struct {
	Config Config
	Params []float32 // every parameter, laid out as Layout(Config)
	W      *Weights  // views into Params
	cos    []float32 // (SeqLen, D/2) RoPE tables
	sin    []float32
	mm     Matmuls

	// Deterministic makes every generated token independent of which
	// other sequences share its batch. The matrix kernel sums a row that
	// fills a 6-row tile in a different order from a row at the edge (or
	// alone, in the matrix-vector path), so a sequence's logits could
	// differ in the last bits depending on how concurrent requests were
	// merged, and a near-tie could flip a sampled token. With this set,
	// every linear layer runs in fixed blocks of whole tiles. RL rollouts set it
	// so that a run is a function of its seed; it costs single-stream
	// decoding speed.
	Deterministic bool
	pad           *sync.Pool // *[]float32 scratch for padded rows
}

// detRows is the block of rows a Deterministic model multiplies at a
// time: a multiple of the small-product kernel's 3-row tile and of the
// 6-row work unit it is split in, and under the 16 rows below which the
// kernels always take that path (model/kernels matMulTSmall), so a row is
// summed the same way in any batch.
const detRows = 12

// Matmuls is where the three big matrix products run: kernels' free
// functions by default, or any multi-core implementation with the same
// methods (such as a *kernels.Kernels).
type Matmuls interface {
	MatMulT(out, a, b []float32, m, k, n int, accumulate bool)
	MatMulNN(out, a, b []float32, m, k, n int, accumulate bool)
	MatMulTN(out, a, b []float32, m, k, n int)
}

type serialMatmuls struct{}

func (serialMatmuls) MatMulT(out, a, b []float32, m, k, n int, acc bool) {
	kernels.MatMulT(out, a, b, m, k, n, acc)
}
func (serialMatmuls) MatMulNN(out, a, b []float32, m, k, n int, acc bool) {
	kernels.MatMulNN(out, a, b, m, k, n, acc)
}
func (serialMatmuls) MatMulTN(out, a, b []float32, m, k, n int) { kernels.MatMulTN(out, a, b, m, k, n) }

// New wraps params (length NumParams(cfg), not copied) as a model.
func New(cfg Config, params []float32) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := BindWeights(cfg, params)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Params: params, W: w, mm: serialMatmuls{}, pad: &sync.Pool{}}
	m.cos, m.sin = ropeTables(cfg)
	return m, nil
}

// SetMatmuls routes the large matrix products through mm (for example a
// multi-core *kernels.Kernels); nil restores the single-threaded kernels.
// Set it before use, not while the model is running.
func (m *Model) SetMatmuls(mm Matmuls) {
	if mm == nil {
		m.mm = serialMatmuls{}
		return
	}
	m.mm = mm
}

// Clone returns a copy with its own parameters (for example a frozen
// reference policy while the original trains), sharing the matmuls.
func (m *Model) Clone() *Model {
	c := *m
	c.Params = append([]float32(nil), m.Params...)
	c.W, _ = BindWeights(m.Config, c.Params) // same config, cannot fail
	return &c
}

// ropeTables precomputes cos and sin of pos·freq_i in float64.
func ropeTables(c Config) (cos, sin []float32) {
	f := c.ropeFreqs()
	half := len(f)
	cos, sin = make([]float32, c.SeqLen*half), make([]float32, c.SeqLen*half)
	for p := 0; p < c.SeqLen; p++ {
		for i, fr := range f {
			s, co := math.Sincos(float64(p) * fr)
			cos[p*half+i], sin[p*half+i] = float32(co), float32(s)
		}
	}
	return cos, sin
}

// rope rotates each head of vec (heads·D) to position pos; sign -1 applies
// the inverse rotation (the backward pass).
func (m *Model) rope(vec []float32, heads, pos int, sign float32) {
	D := m.Config.HeadSize()
	half := D / 2
	cs, sn := m.cos[pos*half:(pos+1)*half], m.sin[pos*half:(pos+1)*half]
	lo, stride := 1, 2 // interleaved pairs (2i, 2i+1)
	if m.Config.RopeLayout == RopeHalf {
		lo, stride = half, 1 // rotate-half pairs (i, i+D/2)
	}
	for h := 0; h < heads; h++ {
		v := vec[h*D : (h+1)*D]
		for i := 0; i < half; i++ {
			a, b := &v[i*stride], &v[i*stride+lo]
			c, s := cs[i], sign*sn[i]
			x0, x1 := *a, *b
			*a, *b = x0*c-x1*s, x0*s+x1*c
		}
	}
}

// row is one token to process: its id, position and its sequence's cache.
type row struct {
	tok, pos int
	cache    *KVCache
	logits   bool // compute logits for this row
}

// runState is inference scratch for up to R rows, reused across steps.
type runState struct {
	R              int
	x, xn, q, y, o []float32 // (R,C)
	k, v           []float32 // (R,KV·D)
	h1, h3         []float32 // (R,F)
	logits         []float32 // (R,V)
	att            [][]float32
	logitRows      []int
	cand           []int32   // sampling candidates (V)
	probs          []float32 // sampling distribution (V)
}

// newRunState sizes scratch for rows tokens per forward, of which at most
// logitRows want logits (the (rows,V) logits dominate for large V).
func (m *Model) newRunState(rows, logitRows, ctxLen int) *runState {
	c := m.Config
	s := &runState{R: rows}
	f := func(n int) []float32 { return make([]float32, rows*n) }
	s.x, s.xn, s.q, s.y, s.o = f(c.Dim), f(c.Dim), f(c.Dim), f(c.Dim), f(c.Dim)
	s.k, s.v = f(c.KVDim()), f(c.KVDim())
	s.h1, s.h3 = f(c.HiddenDim), f(c.HiddenDim)
	s.logits, s.probs = make([]float32, logitRows*c.Vocab), make([]float32, c.Vocab)
	for range runtime.GOMAXPROCS(0) {
		s.att = append(s.att, make([]float32, ctxLen))
	}
	return s
}

// forward runs rows through the model, appending their keys and values to
// their caches, and leaves logits of the rows marked logits in s.logits in
// row order (s.logitRows lists which rows).
func (m *Model) forward(s *runState, rows []row) {
	C, R := m.Config.Dim, len(rows)
	x := s.x[:R*C]
	for r, rw := range rows {
		copy(x[r*C:(r+1)*C], m.W.Embed[rw.tok*C:(rw.tok+1)*C])
	}
	for l := range m.W.Layers {
		layer := &m.W.Layers[l]
		m.rmsNormRows(s.xn[:R*C], x, layer.Attn.Norm)
		m.attention(s, l, &layer.Attn, rows)
		kernels.Add(x, x, s.o[:R*C])
		m.rmsNormRows(s.xn[:R*C], x, layer.MLP.Norm)
		m.mlp(s, &layer.MLP, R)
		kernels.Add(x, x, s.o[:R*C])
	}
	for _, rw := range rows {
		rw.cache.Len = max(rw.cache.Len, rw.pos+1)
	}
	s.logitRows = s.logitRows[:0]
	for r, rw := range rows {
		if rw.logits {
			j := len(s.logitRows)
			kernels.RMSNorm(s.xn[j*C:(j+1)*C], x[r*C:(r+1)*C], m.W.FinalNorm, float32(m.Config.NormEps))
			s.logitRows = append(s.logitRows, r)
		}
	}
	if n := len(s.logitRows); n > 0 {
		m.linear(s.logits, s.xn, m.W.Output, n, C, m.Config.Vocab)
	}
}

func (m *Model) rmsNormRows(out, x, w []float32) {
	C, eps := len(w), float32(m.Config.NormEps)
	for r := 0; r < len(x)/C; r++ {
		kernels.RMSNorm(out[r*C:(r+1)*C], x[r*C:(r+1)*C], w, eps)
	}
}

// linear computes out(R,N) = in(R,K)·W(N,K)ᵀ.
func (m *Model) linear(out, in, w []float32, r, k, n int) {
	if m.Deterministic {
		m.linearTiled(out, in, w, r, k, n)
		return
	}
	if r == 1 {
		// Decoding one token is bound by reading w; large ones are split
		// by output rows so every core streams its share.
		parallelFor(n, n*k/4, func(_, lo, hi int) {
			kernels.MatVecT(out[lo:hi], w[lo*k:hi*k], in, hi-lo, k)
		})
		return
	}
	m.mm.MatMulT(out, in, w, r, k, n, false)
}

// linearTiled is linear computed in blocks of exactly detRows rows (the
// last one padded with zeros), so every row takes the same arithmetic path
// whatever the batch (see Deterministic).
func (m *Model) linearTiled(out, in, w []float32, r, k, n int) {
	for lo := 0; lo < r; lo += detRows {
		rows := min(detRows, r-lo)
		if rows == detRows {
			m.mm.MatMulT(out[lo*n:(lo+rows)*n], in[lo*k:(lo+rows)*k], w, detRows, k, n, false)
			continue
		}
		need := detRows * (k + n)
		bp, _ := m.pad.Get().(*[]float32)
		if bp == nil || cap(*bp) < need {
			b := make([]float32, need)
			bp = &b
		}
		pin, pout := (*bp)[:detRows*k], (*bp)[detRows*k:need]
		copy(pin, in[lo*k:(lo+rows)*k])
		clear(pin[rows*k:])
		m.mm.MatMulT(pout, pin, w, detRows, k, n, false)
		copy(out[lo*n:(lo+rows)*n], pout[:rows*n])
		m.pad.Put(bp)
	}
}

// attention: s.xn (R,C) → s.o (R,C); q,k,v projections, RoPE, cache
// append, causal GQA attention over each row's cache, output projection.
func (m *Model) attention(s *runState, l int, a *Attention, rows []row) {
	c := m.Config
	R, C, KVD := len(rows), c.Dim, c.KVDim()
	q, k, v := s.q[:R*C], s.k[:R*KVD], s.v[:R*KVD]
	m.linear(q, s.xn, a.Wq, R, C, C)
	m.linear(k, s.xn, a.Wk, R, C, KVD)
	m.linear(v, s.xn, a.Wv, R, C, KVD)
	for r, rw := range rows {
		if a.Bq != nil {
			kernels.Add(q[r*C:(r+1)*C], q[r*C:(r+1)*C], a.Bq)
			kernels.Add(k[r*KVD:(r+1)*KVD], k[r*KVD:(r+1)*KVD], a.Bk)
			kernels.Add(v[r*KVD:(r+1)*KVD], v[r*KVD:(r+1)*KVD], a.Bv)
		}
		m.rope(q[r*C:(r+1)*C], c.Heads, rw.pos, 1)
		m.rope(k[r*KVD:(r+1)*KVD], c.KVHeads, rw.pos, 1)
		m.cacheAppend(rw.cache, l, rw.pos, k[r*KVD:(r+1)*KVD], v[r*KVD:(r+1)*KVD])
	}
	work := 0
	for _, rw := range rows {
		work += (rw.pos + 1) * C
	}
	parallelForW(len(s.att), R*c.Heads, work, func(worker, lo, hi int) {
		for i := lo; i < hi; i++ {
			m.attendHead(s, l, rows, i/c.Heads, i%c.Heads, s.att[worker])
		}
	})
	m.linear(s.o, s.y, a.Wo, R, C, C)
}

// attendHead computes y[r, head h] = softmax(q·Kᵀ/√D) · V over positions
// [0, pos] of row r's cache.
func (m *Model) attendHead(s *runState, l int, rows []row, r, h int, att []float32) {
	c := m.Config
	D, C := c.HeadSize(), c.Dim
	rw := rows[r]
	lh := l*c.KVHeads + h/(c.Heads/c.KVHeads)
	n := rw.pos + 1
	q := s.q[r*C+h*D : r*C+(h+1)*D]
	att = att[:n]
	kt := rw.cache.K[lh*D*rw.cache.Cap:]
	clear(att)
	for d, qd := range q {
		kernels.Axpy(qd, kt[d*rw.cache.Cap:d*rw.cache.Cap+n], att)
	}
	kernels.Scale(att, float32(1/math.Sqrt(float64(D))))
	kernels.SoftmaxInPlace(att)
	y := s.y[r*C+h*D : r*C+(h+1)*D]
	vt := rw.cache.V[lh*D*rw.cache.Cap:]
	for d := range y {
		y[d] = kernels.Dot(att, vt[d*rw.cache.Cap:])
	}
}

// mlp: s.xn (R,C) → s.o (R,C) = W2·(silu(W1·x) ⊙ W3·x).
func (m *Model) mlp(s *runState, p *MLP, R int) {
	C, F := m.Config.Dim, m.Config.HiddenDim
	h1, h3 := s.h1[:R*F], s.h3[:R*F]
	m.linear(h1, s.xn, p.W1, R, C, F)
	m.linear(h3, s.xn, p.W3, R, C, F)
	kernels.SiLUMul(h1, h1, h3)
	m.linear(s.o, h1, p.W2, R, F, C)
}

// Logits runs tokens (one sequence from position 0) and returns the logits
// after the last one, shape (V).
func (m *Model) Logits(tokens []int) ([]float32, error) {
	if err := m.checkTokens(tokens, len(tokens)); err != nil {
		return nil, err
	}
	cache := m.NewKVCache(len(tokens))
	s := m.newRunState(len(tokens), 1, len(tokens))
	rows := make([]row, len(tokens))
	for i, t := range tokens {
		rows[i] = row{tok: t, pos: i, cache: cache, logits: i == len(tokens)-1}
	}
	m.forward(s, rows)
	return append([]float32(nil), s.logits[:m.Config.Vocab]...), nil
}

// checkTokens rejects empty input, ids outside the vocabulary and contexts
// longer than SeqLen.
func (m *Model) checkTokens(tokens []int, total int) error {
	if len(tokens) == 0 {
		return fmt.Errorf("model: empty token sequence")
	}
	if total > m.Config.SeqLen {
		return fmt.Errorf("model: %d tokens exceed the context length %d", total, m.Config.SeqLen)
	}
	for i, t := range tokens {
		if t < 0 || t >= m.Config.Vocab {
			return fmt.Errorf("model: token %d at index %d outside vocabulary [0,%d)", t, i, m.Config.Vocab)
		}
	}
	return nil
}
