package model

import "fmt"

// Weights is a tree of named views into one flat []float32 (llm.c's
// ParameterTensors). The same layout binds parameters, gradients and AdamW
// moments, so an optimizer step is one loop and a checkpoint one write.
//
// Storage order groups each kind across layers (all wq, then all wk, …),
// which is also llama2.c's file order.
type Weights struct {
	Embed     []float32 // (V,C)
	Layers    []Layer
	FinalNorm []float32 // (C)
	Output    []float32 // (V,C); aliases Embed when tied
}

// Layer is one decoder block: attention then MLP, each pre-normed.
type Layer struct {
	Attn Attention
	MLP  MLP
}

// Attention holds one layer's self-attention weights.
type Attention struct {
	Norm   []float32 // (C) input_layernorm
	Wq     []float32 // (H·D, C)
	Wk, Wv []float32 // (KV·D, C)
	Wo     []float32 // (C, H·D)
	Bq     []float32 // (H·D) or nil
	Bk, Bv []float32 // (KV·D) or nil
}

// MLP holds one layer's SwiGLU feed-forward weights.
type MLP struct {
	Norm []float32 // (C) post_attention_layernorm
	W1   []float32 // (F,C) gate_proj
	W2   []float32 // (C,F) down_proj
	W3   []float32 // (F,C) up_proj
}

// TensorInfo names one view of the flat buffer: its Hugging Face name,
// shape and element range [Off, Off+Size).
type TensorInfo struct {
	Name  string
	Shape []int
	Off   int
	Size  int
	Decay bool // matrices get weight decay; norms and biases do not
}

// tensorRef pairs a TensorInfo with the field it binds.
type tensorRef struct {
	TensorInfo
	dst *[]float32
}

// refs lists w's tensors in storage order for config c.
func (w *Weights) refs(c Config) []tensorRef {
	C, F, V, QD, KVD := c.Dim, c.HiddenDim, c.Vocab, c.Dim, c.KVDim()
	var out []tensorRef
	add := func(name string, dst *[]float32, decay bool, shape ...int) {
		out = append(out, tensorRef{TensorInfo{Name: name, Shape: shape, Decay: decay}, dst})
	}
	perLayer := func(kind string, pick func(l *Layer) *[]float32, decay bool, shape ...int) {
		for i := range w.Layers {
			add(fmt.Sprintf("model.layers.%d.%s", i, kind), pick(&w.Layers[i]), decay, shape...)
		}
	}
	add("model.embed_tokens.weight", &w.Embed, true, V, C)
	perLayer("input_layernorm.weight", func(l *Layer) *[]float32 { return &l.Attn.Norm }, false, C)
	perLayer("self_attn.q_proj.weight", func(l *Layer) *[]float32 { return &l.Attn.Wq }, true, QD, C)
	perLayer("self_attn.k_proj.weight", func(l *Layer) *[]float32 { return &l.Attn.Wk }, true, KVD, C)
	perLayer("self_attn.v_proj.weight", func(l *Layer) *[]float32 { return &l.Attn.Wv }, true, KVD, C)
	perLayer("self_attn.o_proj.weight", func(l *Layer) *[]float32 { return &l.Attn.Wo }, true, C, QD)
	if c.QKVBias {
		perLayer("self_attn.q_proj.bias", func(l *Layer) *[]float32 { return &l.Attn.Bq }, false, QD)
		perLayer("self_attn.k_proj.bias", func(l *Layer) *[]float32 { return &l.Attn.Bk }, false, KVD)
		perLayer("self_attn.v_proj.bias", func(l *Layer) *[]float32 { return &l.Attn.Bv }, false, KVD)
	}
	perLayer("post_attention_layernorm.weight", func(l *Layer) *[]float32 { return &l.MLP.Norm }, false, C)
	perLayer("mlp.gate_proj.weight", func(l *Layer) *[]float32 { return &l.MLP.W1 }, true, F, C)
	perLayer("mlp.down_proj.weight", func(l *Layer) *[]float32 { return &l.MLP.W2 }, true, C, F)
	perLayer("mlp.up_proj.weight", func(l *Layer) *[]float32 { return &l.MLP.W3 }, true, F, C)
	add("model.norm.weight", &w.FinalNorm, false, C)
	if !c.TiedEmbeddings {
		add("lm_head.weight", &w.Output, true, V, C)
	}
	off := 0
	for i := range out {
		n := 1
		for _, d := range out[i].Shape {
			n *= d
		}
		out[i].Off, out[i].Size = off, n
		off += n
	}
	return out
}

// Layout returns the tensors of config c in storage order.
func Layout(c Config) []TensorInfo {
	w := Weights{Layers: make([]Layer, c.Layers)}
	refs := w.refs(c)
	out := make([]TensorInfo, len(refs))
	for i, r := range refs {
		out[i] = r.TensorInfo
	}
	return out
}

// NumParams is the length of the flat buffer for config c.
func NumParams(c Config) int {
	l := Layout(c)
	last := l[len(l)-1]
	return last.Off + last.Size
}

// BindWeights makes views of buf (length NumParams(c)) for config c.
func BindWeights(c Config, buf []float32) (*Weights, error) {
	if n := NumParams(c); len(buf) != n {
		return nil, fmt.Errorf("bind weights: buffer has %d floats, config needs %d", len(buf), n)
	}
	w := &Weights{Layers: make([]Layer, c.Layers)}
	for _, r := range w.refs(c) {
		*r.dst = buf[r.Off : r.Off+r.Size : r.Off+r.Size]
	}
	if c.TiedEmbeddings {
		w.Output = w.Embed
	}
	return w, nil
}
