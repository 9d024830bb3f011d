package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

// RopeLayout says which elements of a head RoPE rotates together.
type RopeLayout int

const (
	// RopeHalf rotates (i, i+D/2): Hugging Face Llama/Qwen2 checkpoints.
	RopeHalf RopeLayout = iota
	// RopeInterleaved rotates (2i, 2i+1): llama2.c and Meta's originals.
	RopeInterleaved
)

// RopeLayoutName is "interleaved" or "half", for messages.
func (c Config) RopeLayoutName() string {
	if c.RopeLayout == RopeInterleaved {
		return "interleaved"
	}
	return "half"
}

// RopeScaling stretches RoPE to longer contexts, as in config.json's
// rope_scaling. Type is "linear" or "llama3"; nil means none.
type RopeScaling struct {
	Type                          string  `json:"rope_type"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
}

// Config describes a Llama-family decoder. Arch is "llama" or "qwen2".
type Config struct {
	Arch           string
	Dim            int // C
	HiddenDim      int // F
	Layers         int // L
	Heads          int // H
	KVHeads        int // KV; Heads must be a multiple
	Vocab          int // V
	SeqLen         int // longest context, also the RoPE table length
	RopeTheta      float64
	RopeScaling    *RopeScaling
	RopeLayout     RopeLayout
	NormEps        float64
	TiedEmbeddings bool // output head shares the token embedding
	QKVBias        bool // Qwen2 has biases on q, k and v projections
	BOS, EOS       int  // -1 when unknown
}

// HeadSize is D = Dim / Heads.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is KV·D, the width of one key or value row.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// Validate reports the first impossible field.
func (c Config) Validate() error {
	switch {
	case c.Dim <= 0 || c.HiddenDim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.Vocab <= 0 || c.SeqLen <= 0:
		return fmt.Errorf("config: sizes must be positive: %+v", c)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("config: dim %d not divisible by heads %d", c.Dim, c.Heads)
	case c.HeadSize()%2 != 0:
		return fmt.Errorf("config: head size %d must be even for RoPE", c.HeadSize())
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("config: heads %d not a multiple of kv heads %d", c.Heads, c.KVHeads)
	case !(c.RopeTheta > 0) || !(c.NormEps > 0):
		return fmt.Errorf("config: rope theta %g and norm eps %g must be positive", c.RopeTheta, c.NormEps)
	case c.Dim > 1<<16 || c.HiddenDim > 1<<18 || c.Layers > 1024 || c.Vocab > 1<<22 || c.SeqLen > 1<<20:
		return fmt.Errorf("config: implausibly large model: %+v", c)
	}
	if s := c.RopeScaling; s != nil {
		if s.Type != "linear" && s.Type != "llama3" {
			return fmt.Errorf("config: unsupported rope_scaling type %q (want linear or llama3)", s.Type)
		}
		if !(s.Factor >= 1) {
			return fmt.Errorf("config: rope_scaling factor %g must be >= 1", s.Factor)
		}
	}
	return nil
}

// hfConfig is the subset of a Hugging Face config.json the engine reads.
type hfConfig struct {
	Architectures         []string        `json:"architectures"`
	ModelType             string          `json:"model_type"`
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      int             `json:"num_key_value_heads,omitempty"`
	HeadDim               int             `json:"head_dim,omitempty"`
	VocabSize             int             `json:"vocab_size"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RopeTheta             float64         `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling,omitempty"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	TieWordEmbeddings     bool            `json:"tie_word_embeddings"`
	AttentionBias         bool            `json:"attention_bias,omitempty"`
	BOSTokenID            json.RawMessage `json:"bos_token_id,omitempty"`
	EOSTokenID            json.RawMessage `json:"eos_token_id,omitempty"`
	TorchDtype            string          `json:"torch_dtype,omitempty"`
}

// ReadHFConfig reads a Hugging Face config.json (LlamaForCausalLM or
// Qwen2ForCausalLM).
func ReadHFConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	c, err := ParseHFConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseHFConfig parses config.json bytes.
func ParseHFConfig(b []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, fmt.Errorf("parse config.json: %w", err)
	}
	arch := strings.Join(h.Architectures, ",")
	c := Config{
		Dim: h.HiddenSize, HiddenDim: h.IntermediateSize, Layers: h.NumHiddenLayers,
		Heads: h.NumAttentionHeads, KVHeads: h.NumKeyValueHeads, Vocab: h.VocabSize,
		SeqLen: h.MaxPositionEmbeddings, RopeTheta: h.RopeTheta, NormEps: h.RMSNormEps,
		TiedEmbeddings: h.TieWordEmbeddings, RopeLayout: RopeHalf,
		BOS: firstID(h.BOSTokenID), EOS: firstID(h.EOSTokenID),
	}
	switch arch {
	case "LlamaForCausalLM":
		c.Arch, c.QKVBias = "llama", h.AttentionBias
	case "Qwen2ForCausalLM":
		c.Arch, c.QKVBias = "qwen2", true
	default:
		return Config{}, fmt.Errorf("unsupported architecture %q (want LlamaForCausalLM or Qwen2ForCausalLM)", arch)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-6
	}
	if h.HeadDim != 0 && c.Heads != 0 && h.HeadDim*c.Heads != c.Dim {
		return Config{}, fmt.Errorf("head_dim %d × heads %d != hidden_size %d is not supported", h.HeadDim, c.Heads, c.Dim)
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		var s struct {
			RopeScaling
			Type string `json:"type"`
		}
		if err := json.Unmarshal(h.RopeScaling, &s); err != nil {
			return Config{}, fmt.Errorf("rope_scaling: %w", err)
		}
		if s.RopeScaling.Type == "" {
			s.RopeScaling.Type = s.Type
		}
		if s.RopeScaling.Type != "default" {
			rs := s.RopeScaling
			c.RopeScaling = &rs
		}
	}
	return c, c.Validate()
}

// firstID reads a token id given as a number or a list of numbers.
func firstID(raw json.RawMessage) int {
	var id int
	if json.Unmarshal(raw, &id) == nil && len(raw) > 0 {
		return id
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return ids[0]
	}
	return -1
}

// HFConfigJSON renders c as a Hugging Face config.json. Checkpoints are
// always written in the rotate-half layout, so the result names no layout.
func (c Config) HFConfigJSON() ([]byte, error) {
	arch, typ := "LlamaForCausalLM", "llama"
	if c.Arch == "qwen2" {
		arch, typ = "Qwen2ForCausalLM", "qwen2"
	}
	h := hfConfig{
		Architectures: []string{arch}, ModelType: typ,
		HiddenSize: c.Dim, IntermediateSize: c.HiddenDim, NumHiddenLayers: c.Layers,
		NumAttentionHeads: c.Heads, NumKeyValueHeads: c.KVHeads, VocabSize: c.Vocab,
		MaxPositionEmbeddings: c.SeqLen, RopeTheta: c.RopeTheta, RMSNormEps: c.NormEps,
		TieWordEmbeddings: c.TiedEmbeddings, AttentionBias: c.QKVBias && c.Arch != "qwen2",
		TorchDtype: "float32",
	}
	if c.RopeScaling != nil {
		b, err := json.Marshal(c.RopeScaling)
		if err != nil {
			return nil, err
		}
		h.RopeScaling = b
	}
	if c.BOS >= 0 {
		h.BOSTokenID = json.RawMessage(fmt.Sprint(c.BOS))
	}
	if c.EOS >= 0 {
		h.EOSTokenID = json.RawMessage(fmt.Sprint(c.EOS))
	}
	return json.MarshalIndent(h, "", "  ")
}

// ropeFreqs returns the D/2 inverse frequencies, scaled per c.RopeScaling.
func (c Config) ropeFreqs() []float64 {
	d := c.HeadSize()
	f := make([]float64, d/2)
	for i := range f {
		f[i] = 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(d))
	}
	s := c.RopeScaling
	if s == nil {
		return f
	}
	switch s.Type {
	case "linear":
		for i := range f {
			f[i] /= s.Factor
		}
	case "llama3":
		// Llama 3.1: keep high frequencies, divide low ones, blend between.
		lowWave := float64(s.OriginalMaxPositionEmbeddings) / s.LowFreqFactor
		highWave := float64(s.OriginalMaxPositionEmbeddings) / s.HighFreqFactor
		for i, fr := range f {
			wave := 2 * math.Pi / fr
			switch {
			case wave < highWave:
			case wave > lowWave:
				f[i] = fr / s.Factor
			default:
				sm := (float64(s.OriginalMaxPositionEmbeddings)/wave - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				f[i] = (1-sm)*fr/s.Factor + sm*fr
			}
		}
	}
	return f
}
