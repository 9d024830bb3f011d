// Package bert runs BERT-family text encoders (e5, bge, gte) in process on
// the engine's kernels (model/kernels): WordPiece tokens, learned absolute
// positions, post-LayerNorm blocks with GELU, mean or CLS pooling. Weights
// load from a Hugging Face directory (config.json, model.safetensors,
// vocab.txt or tokenizer.json). An Encoder is a dense.Embedder.
//
// Shapes: T tokens of one sequence, H hidden size, I intermediate size,
// nh heads of size hd = H/nh. Linear weights are Hugging Face's (out, in),
// so a layer is kernels.MatMulT(out(T,out), x(T,in), W(out,in)).
package bert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// Config is the part of a Hugging Face BertConfig the forward needs.
type Config struct {
	Vocab        int     `json:"vocab_size"`
	Hidden       int     `json:"hidden_size"`
	Layers       int     `json:"num_hidden_layers"`
	Heads        int     `json:"num_attention_heads"`
	Intermediate int     `json:"intermediate_size"`
	MaxPositions int     `json:"max_position_embeddings"`
	TypeVocab    int     `json:"type_vocab_size"`
	LayerNormEps float64 `json:"layer_norm_eps"`
	HiddenAct    string  `json:"hidden_act"`
}

// linear is y = x·Wᵀ + b with W (out, in).
type linear struct {
	W, B    []float32
	in, out int
}

func (l linear) forward(k *kernels.Kernels, y, x []float32, t int) {
	if k != nil {
		k.MatMulT(y[:t*l.out], x[:t*l.in], l.W, t, l.in, l.out, false)
	} else {
		kernels.MatMulT(y[:t*l.out], x[:t*l.in], l.W, t, l.in, l.out, false)
	}
	for i := range t {
		row := y[i*l.out : (i+1)*l.out]
		for j, b := range l.B {
			row[j] += b
		}
	}
}

// layerNorm holds a LayerNorm's scale and shift.
type layerNorm struct{ W, B []float32 }

// forward normalises each row of x (t, H) in place.
func (n layerNorm) forward(x []float32, t int, eps float64) {
	h := len(n.W)
	for i := range t {
		row := x[i*h : (i+1)*h]
		var mean, v float64
		for _, a := range row {
			mean += float64(a)
		}
		mean /= float64(h)
		for _, a := range row {
			d := float64(a) - mean
			v += d * d
		}
		inv := 1 / math.Sqrt(v/float64(h)+eps)
		for j, a := range row {
			row[j] = float32((float64(a)-mean)*inv)*n.W[j] + n.B[j]
		}
	}
}

// Layer is one post-LN encoder block.
type Layer struct {
	Q, K, V, O linear
	AttnNorm   layerNorm
	Up, Down   linear
	OutNorm    layerNorm
}

// Model is a BERT encoder.
type Model struct {
	Config Config
	Word   []float32 // (Vocab, H)
	Pos    []float32 // (MaxPositions, H)
	Type   []float32 // (TypeVocab, H); type 0 for every token
	Norm   layerNorm
	Layers []Layer
	// Kernels, when set, splits the linear layers across its workers;
	// nil runs them on the calling goroutine.
	Kernels *kernels.Kernels
}

// Load reads config.json and model.safetensors from dir. Tensor names may
// carry a "bert." prefix (BertForXxx checkpoints) or none (BertModel).
func Load(dir string) (*Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("bert %s: config.json: %w", dir, err)
	}
	ts, err := readSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	return FromTensors(c, ts)
}

// FromTensors binds named tensors to a model of config c.
func FromTensors(c Config, ts map[string]tensor) (*Model, error) {
	if c.Hidden <= 0 || c.Heads <= 0 || c.Hidden%c.Heads != 0 || c.Layers <= 0 || c.Intermediate <= 0 || c.Vocab <= 0 || c.MaxPositions <= 0 {
		return nil, fmt.Errorf("bert: implausible config %+v", c)
	}
	if c.HiddenAct != "" && c.HiddenAct != "gelu" {
		return nil, fmt.Errorf("bert: hidden_act %q, only gelu (erf) is implemented", c.HiddenAct)
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	if c.TypeVocab == 0 {
		c.TypeVocab = 2
	}
	prefix := ""
	if _, ok := ts["bert.embeddings.word_embeddings.weight"]; ok {
		prefix = "bert."
	}
	var missing []string
	get := func(name string, shape ...int) []float32 {
		t, ok := ts[prefix+name]
		if !ok || !sameShape(t.Shape, shape) {
			missing = append(missing, fmt.Sprintf("%s%s %v (have %v)", prefix, name, shape, t.Shape))
			return make([]float32, prod(shape))
		}
		return t.Data
	}
	h, in := c.Hidden, c.Intermediate
	lin := func(name string, out, inDim int) linear {
		return linear{W: get(name+".weight", out, inDim), B: get(name+".bias", out), in: inDim, out: out}
	}
	ln := func(name string) layerNorm { return layerNorm{W: get(name+".weight", h), B: get(name+".bias", h)} }
	m := &Model{Config: c,
		Word: get("embeddings.word_embeddings.weight", c.Vocab, h),
		Pos:  get("embeddings.position_embeddings.weight", c.MaxPositions, h),
		Type: get("embeddings.token_type_embeddings.weight", c.TypeVocab, h),
		Norm: ln("embeddings.LayerNorm"),
	}
	for i := range c.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		m.Layers = append(m.Layers, Layer{
			Q: lin(p+"attention.self.query", h, h), K: lin(p+"attention.self.key", h, h), V: lin(p+"attention.self.value", h, h),
			O: lin(p+"attention.output.dense", h, h), AttnNorm: ln(p + "attention.output.LayerNorm"),
			Up: lin(p+"intermediate.dense", in, h), Down: lin(p+"output.dense", h, in), OutNorm: ln(p + "output.LayerNorm"),
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bert: missing or misshapen tensors: %s", strings.Join(missing, "; "))
	}
	return m, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// scratch holds the activations of a batch, its sequences' tokens packed
// row after row.
type scratch struct {
	x, q, k, v, att, tmp, up, scores []float32
}

func (m *Model) newScratch(t, longest int) *scratch {
	h, in := m.Config.Hidden, m.Config.Intermediate
	return &scratch{x: make([]float32, t*h), q: make([]float32, t*h), k: make([]float32, t*h), v: make([]float32, t*h),
		att: make([]float32, t*h), tmp: make([]float32, t*h), up: make([]float32, t*in), scores: make([]float32, longest)}
}

// Forward returns the last hidden states (T, H) of one sequence of token
// ids (T ≤ MaxPositions, every id < Vocab).
func (m *Model) Forward(ids []int) ([]float32, error) {
	hs, err := m.ForwardBatch([][]int{ids})
	if err != nil {
		return nil, err
	}
	return hs[0], nil
}

// ForwardBatch returns the last hidden states (T_i, H) of each sequence.
// The sequences' tokens are packed into one (ΣT_i, H) matrix, so every
// linear layer is one matmul over the whole batch (the weights are read
// once per batch, not once per sequence), while attention runs within
// each sequence: the block-diagonal mask that padding would need, without
// the padding. Each output equals Forward of that sequence alone up to
// float rounding (a taller matmul may sum in another order).
func (m *Model) ForwardBatch(seqs [][]int) ([][]float32, error) {
	c := m.Config
	h := c.Hidden
	start := make([]int, len(seqs)+1)
	longest := 0
	for i, ids := range seqs {
		if len(ids) == 0 || len(ids) > c.MaxPositions {
			return nil, fmt.Errorf("bert: sequence %d has %d tokens, want 1 to %d", i, len(ids), c.MaxPositions)
		}
		for _, id := range ids {
			if id < 0 || id >= c.Vocab {
				return nil, fmt.Errorf("bert: token id %d outside the vocabulary of %d", id, c.Vocab)
			}
		}
		start[i+1] = start[i] + len(ids)
		longest = max(longest, len(ids))
	}
	t := start[len(seqs)]
	if t == 0 {
		return nil, nil
	}
	s := m.newScratch(t, longest)
	for si, ids := range seqs {
		for i, id := range ids {
			row := s.x[(start[si]+i)*h : (start[si]+i+1)*h]
			kernels.Add(row, m.Word[id*h:(id+1)*h], m.Pos[i*h:(i+1)*h])
			kernels.Add(row, row, m.Type[:h])
		}
	}
	m.Norm.forward(s.x, t, c.LayerNormEps)
	for _, l := range m.Layers {
		l.forward(m.Kernels, s, start, c)
	}
	out := make([][]float32, len(seqs))
	for i := range seqs {
		out[i] = s.x[start[i]*h : start[i+1]*h : start[i+1]*h]
	}
	return out, nil
}

// forward is the post-LN block: x = LN(x + Attn(x)); x = LN(x + MLP(x)),
// over the packed batch whose sequence i holds rows start[i]..start[i+1].
func (l Layer) forward(k *kernels.Kernels, s *scratch, start []int, c Config) {
	h := c.Hidden
	t := start[len(start)-1]
	l.Q.forward(k, s.q, s.x, t)
	l.K.forward(k, s.k, s.x, t)
	l.V.forward(k, s.v, s.x, t)
	for i := range len(start) - 1 {
		a, b := start[i]*h, start[i+1]*h
		attention(s.att[a:b], s.q[a:b], s.k[a:b], s.v[a:b], s.scores, start[i+1]-start[i], h, c.Heads)
	}
	l.O.forward(k, s.tmp, s.att, t)
	kernels.Add(s.x[:t*h], s.x[:t*h], s.tmp[:t*h])
	l.AttnNorm.forward(s.x, t, c.LayerNormEps)
	l.Up.forward(k, s.up, s.x, t)
	gelu(s.up[:t*c.Intermediate])
	l.Down.forward(k, s.tmp, s.up, t)
	kernels.Add(s.x[:t*h], s.x[:t*h], s.tmp[:t*h])
	l.OutNorm.forward(s.x, t, c.LayerNormEps)
}

// attention is bidirectional multi-head attention over one sequence:
// out(T,H) = softmax(q·kᵀ/√hd)·v per head, every token seeing every token.
func attention(out, q, k, v, scores []float32, t, h, heads int) {
	hd := h / heads
	scale := float32(1 / math.Sqrt(float64(hd)))
	clear(out[:t*h])
	for hh := range heads {
		off := hh * hd
		for i := range t {
			qi := q[i*h+off : i*h+off+hd]
			for j := range t {
				scores[j] = kernels.Dot(qi, k[j*h+off:j*h+off+hd]) * scale
			}
			kernels.SoftmaxInPlace(scores[:t])
			oi := out[i*h+off : i*h+off+hd]
			for j := range t {
				kernels.Axpy(scores[j], v[j*h+off:j*h+off+hd], oi)
			}
		}
	}
}

// gelu is the exact (erf) GELU, BERT's "gelu".
func gelu(x []float32) {
	for i, a := range x {
		x[i] = float32(0.5 * float64(a) * (1 + math.Erf(float64(a)/math.Sqrt2)))
	}
}

// Pooling turns hidden states into one vector.
type Pooling int

const (
	// Mean averages every token's state ([CLS] and [SEP] included, as
	// sentence-transformers does with no padding): e5, gte.
	Mean Pooling = iota + 1
	// CLS takes the [CLS] token's state: bge.
	CLS
)

// Encoder embeds texts: tokenize, forward, pool, optionally normalise. It
// is a dense.Embedder; prefixes ("query: ", "passage: ") are the caller's.
// It is safe for concurrent use.
type Encoder struct {
	Model     *Model
	Tokenizer *Tokenizer
	Pooling   Pooling
	// Normalize scales every vector to unit length.
	Normalize bool
	// MaxTokens cuts longer texts ([CLS] and [SEP] included). Default 512
	// or the model's positions, whichever is fewer.
	MaxTokens int
}

// LoadEncoder loads a model directory with its tokenizer (uncased) as a
// mean-pooling, normalising encoder, e5's setting.
func LoadEncoder(dir string) (*Encoder, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	tok, err := findTokenizer(dir, true)
	if err != nil {
		return nil, err
	}
	return &Encoder{Model: m, Tokenizer: tok, Pooling: Mean, Normalize: true}, nil
}

// batchTokens bounds the tokens of one packed forward: enough rows for the
// matmuls to run at full speed, and 4096·(H+…) floats of activations, about
// 100 MB at BERT-base's sizes.
const batchTokens = 4096

// Embed implements dense.Embedder. Texts are encoded in packed batches of
// up to batchTokens tokens.
func (e *Encoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	maxT := e.MaxTokens
	if maxT <= 0 {
		maxT = 512
	}
	maxT = min(maxT, e.Model.Config.MaxPositions)
	out := make([][]float32, 0, len(texts))
	var batch [][]int
	tokens := 0
	flush := func() error {
		vs, err := e.EmbedBatch(batch)
		if err != nil {
			return err
		}
		out = append(out, vs...)
		batch, tokens = batch[:0], 0
		return nil
	}
	for _, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ids := e.Tokenizer.Encode(text, maxT)
		if len(batch) > 0 && tokens+len(ids) > batchTokens {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch = append(batch, ids)
		tokens += len(ids)
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EmbedIDs pools the hidden states of one token sequence.
func (e *Encoder) EmbedIDs(ids []int) ([]float32, error) {
	vs, err := e.EmbedBatch([][]int{ids})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// EmbedBatch pools the hidden states of several token sequences, run as
// one packed batch (Model.ForwardBatch).
func (e *Encoder) EmbedBatch(seqs [][]int) ([][]float32, error) {
	hss, err := e.Model.ForwardBatch(seqs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(seqs))
	for i, hs := range hss {
		out[i] = e.pool(hs, len(seqs[i]))
	}
	return out, nil
}

// pool turns the hidden states (t, H) of one sequence into its vector.
func (e *Encoder) pool(hs []float32, t int) []float32 {
	h := e.Model.Config.Hidden
	v := make([]float32, h)
	switch e.Pooling {
	case CLS:
		copy(v, hs[:h])
	default:
		for i := range t {
			kernels.Add(v, v, hs[i*h:(i+1)*h])
		}
		kernels.Scale(v, 1/float32(t))
	}
	if e.Normalize {
		var s float64
		for _, a := range v {
			s += float64(a) * float64(a)
		}
		if s > 0 {
			kernels.Scale(v, float32(1/math.Sqrt(s)))
		}
	}
	return v
}
