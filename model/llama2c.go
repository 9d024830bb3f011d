package model

import (
	"encoding/binary"
	"fmt"
	"math"
)

// llama2c.go reads Karpathy's llama2.c checkpoints ("legacy v0"): a header
// of 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
// seq_len; a negative vocab_size means an unshared classifier), then
// float32 weights in llama2.c order, two unused RoPE tables, and the
// classifier when unshared.

const llama2cHeader = 7 * 4

// LoadLlama2C loads a llama2.c .bin checkpoint. Its RoPE rotates
// interleaved pairs, theta 10000, RMSNorm epsilon 1e-5.
func LoadLlama2C(path string) (*Model, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("load llama2.c %s: %w", path, err)
	}
	defer release()
	m, err := parseLlama2C(data)
	if err != nil {
		return nil, fmt.Errorf("load llama2.c %s: %w", path, err)
	}
	return m, nil
}

// llama2cConfig decodes and checks the header.
func llama2cConfig(data []byte) (Config, error) {
	if len(data) < llama2cHeader {
		return Config{}, fmt.Errorf("file has %d bytes, shorter than the %d-byte header", len(data), llama2cHeader)
	}
	var h [7]int
	for i := range h {
		h[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	vocab, tied := h[5], true
	if vocab < 0 {
		vocab, tied = -vocab, false
	}
	c := Config{
		Arch: "llama", Dim: h[0], HiddenDim: h[1], Layers: h[2], Heads: h[3], KVHeads: h[4],
		Vocab: vocab, SeqLen: h[6], RopeTheta: 10000, RopeLayout: RopeInterleaved,
		NormEps: 1e-5, TiedEmbeddings: tied, BOS: 1, EOS: 2,
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("header %v: %w", h, err)
	}
	return c, nil
}

func parseLlama2C(data []byte) (*Model, error) {
	c, err := llama2cConfig(data)
	if err != nil {
		return nil, err
	}
	// Place every tensor first, so a lying header fails before allocating.
	layout := Layout(c)
	fileOff := make([]int, len(layout))
	ropeBytes := 2 * c.SeqLen * c.HeadSize() / 2 * 4 // freq_cis_real and _imag
	off := llama2cHeader
	for i, t := range layout {
		if t.Name == "lm_head.weight" {
			off += ropeBytes
		}
		fileOff[i] = off
		if off+t.Size*4 > len(data) {
			return nil, fmt.Errorf("truncated in tensor %s %v: need bytes [%d,%d), file has %d", t.Name, t.Shape, off, off+t.Size*4, len(data))
		}
		off += t.Size * 4
	}
	if c.TiedEmbeddings {
		off += ropeBytes
	}
	if off != len(data) {
		return nil, fmt.Errorf("size mismatch: header %+v implies %d bytes, file has %d", c, off, len(data))
	}
	params := make([]float32, NumParams(c))
	for i, t := range layout {
		decodeF32(params[t.Off:t.Off+t.Size], data[fileOff[i]:])
	}
	return New(c, params)
}

// decodeF32 converts little-endian float32 bytes.
func decodeF32(dst []float32, b []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
