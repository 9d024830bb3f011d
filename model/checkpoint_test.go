package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func tinyConfig() Config {
	return Config{Arch: "llama", Dim: 16, HiddenDim: 24, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 19, SeqLen: 16,
		RopeTheta: 10000, NormEps: 1e-5, BOS: 1, EOS: 2}
}

// llama2cBytes encodes m as a llama2.c v0 file (RoPE tables zeroed).
func llama2cBytes(m *Model) []byte {
	c := m.Config
	vocab := c.Vocab
	if !c.TiedEmbeddings {
		vocab = -vocab
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(c.Dim))
	for _, v := range []int{c.HiddenDim, c.Layers, c.Heads, c.KVHeads, vocab, c.SeqLen} {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
	}
	put := func(f []float32) {
		for _, v := range f {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	rope := make([]float32, c.SeqLen*c.HeadSize())
	for _, t := range Layout(c) {
		if t.Name == "lm_head.weight" {
			put(rope)
		}
		put(m.Params[t.Off : t.Off+t.Size])
	}
	if c.TiedEmbeddings {
		put(rope)
	}
	return b
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestLlama2CRoundTripAndErrors(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := tinyConfig()
		c.TiedEmbeddings, c.RopeLayout = tied, RopeInterleaved
		m, err := NewRandom(c, 11)
		if err != nil {
			t.Fatal(err)
		}
		data := llama2cBytes(m)
		path := filepath.Join(t.TempDir(), "m.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadLlama2C(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Params, m.Params) {
			t.Errorf("tied=%v: parameters differ after a llama2.c round trip", tied)
		}
		if err := os.WriteFile(path, data[:len(data)-100], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadLlama2C(path); err == nil {
			t.Errorf("tied=%v: truncated file loaded without error", tied)
		} else {
			t.Logf("truncated: %v", err)
		}
	}
}

// TestSaveLoadLogits: a checkpoint reloads to the same logits, including an
// interleaved (llama2.c) model written in HF's rotate-half layout.
func TestSaveLoadLogits(t *testing.T) {
	cases := map[string]func(c *Config){
		"llama-interleaved": func(c *Config) { c.RopeLayout = RopeInterleaved; c.TiedEmbeddings = true },
		"qwen2-untied":      func(c *Config) { c.Arch, c.QKVBias = "qwen2", true },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := tinyConfig()
			edit(&c)
			m, err := NewRandom(c, 5)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			prompt := []int{1, 5, 9, 3, 17, 2}
			want, _ := m.Logits(prompt)
			have, err := got.Logits(prompt)
			if err != nil {
				t.Fatal(err)
			}
			d := maxAbsDiff(want, have)
			if c.RopeLayout == RopeHalf && d != 0 {
				t.Errorf("logits differ by %g after reload, want identical", d)
			}
			if d > 1e-5 {
				t.Errorf("logits differ by %g after reload", d)
			}
		})
	}
}

func TestF16(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: 1.0 / (1 << 24), 0x8000: 0, 0x3555: 0.33325195}
	for h, want := range cases {
		if got := f16ToF32(h); got != want {
			t.Errorf("f16 %#04x = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(f16ToF32(0x7c00)), 1) || !math.IsNaN(float64(f16ToF32(0x7e00))) {
		t.Error("f16 infinity or NaN decoded wrongly")
	}
}

// TestResumeBitwise: training killed and resumed from a checkpoint gives
// bitwise the parameters of an uninterrupted run (single-threaded).
func TestResumeBitwise(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := tinyConfig()
	const B, T, steps = 2, 8, 6
	newTrainer := func() *Trainer {
		m, err := NewRandom(c, 21)
		if err != nil {
			t.Fatal(err)
		}
		tc := DefaultTrainConfig(B, T)
		tc.LR, tc.WarmupSteps, tc.DecaySteps = 1e-2, 2, 4
		tr, err := NewTrainer(m, tc, 4)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	step := func(tr *Trainer) {
		tokens, targets := make([]int, B*T), make([]int, B*T)
		for i := range tokens {
			tokens[i], targets[i] = tr.RNG.IntN(c.Vocab), tr.RNG.IntN(c.Vocab)
		}
		if _, err := tr.ForwardBackward(tokens, targets, nil); err != nil {
			t.Fatal(err)
		}
		tr.Update()
	}
	full := newTrainer()
	for range steps {
		step(full)
	}
	half := newTrainer()
	for range steps / 2 {
		step(half)
	}
	dir := t.TempDir()
	if err := half.Save(dir); err != nil {
		t.Fatal(err)
	}
	resumed, err := LoadTrainer(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range steps - steps/2 {
		step(resumed)
	}
	if resumed.Step != full.Step || !slices.Equal(resumed.Params(), full.Params()) {
		t.Errorf("resumed run differs from the uninterrupted one (max diff %g)", maxAbsDiff(resumed.Params(), full.Params()))
	}
}

// TestLoadBF16F16 writes a checkpoint in BF16 and F16 by hand and checks
// that loading widens every value exactly.
func TestLoadBF16F16(t *testing.T) {
	c := tinyConfig()
	c.Arch, c.QKVBias = "qwen2", true
	m, err := NewRandom(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, dtype := range []string{"BF16", "F16"} {
		t.Run(dtype, func(t *testing.T) {
			narrow := func(v float32) uint16 {
				if dtype == "BF16" {
					return uint16(math.Float32bits(v) >> 16)
				}
				return f32ToF16(v)
			}
			header, body := "{", []byte{}
			want := make([]float32, len(m.Params))
			for i, ti := range Layout(c) {
				start := len(body)
				for j, v := range m.Params[ti.Off : ti.Off+ti.Size] {
					h := narrow(v)
					body = binary.LittleEndian.AppendUint16(body, h)
					if dtype == "BF16" {
						want[ti.Off+j] = math.Float32frombits(uint32(h) << 16)
					} else {
						want[ti.Off+j] = f16ToF32(h)
					}
				}
				if i > 0 {
					header += ","
				}
				header += fmt.Sprintf(`%q:{"dtype":%q,"shape":[%s],"data_offsets":[%d,%d]}`, ti.Name, dtype,
					strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ti.Shape)), ","), "[]"), start, len(body))
			}
			header += "}"
			file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
			file = append(append(file, header...), body...)
			dir := t.TempDir()
			cfg, _ := c.HFConfigJSON()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(got.Params, want); d != 0 {
				t.Errorf("%s widening differs by %g", dtype, d)
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), file[:len(file)-10], 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
				t.Errorf("truncated file: error %v should name the file", err)
			}
		})
	}
}

// f32ToF16 narrows by truncation (enough for a test of the widening).
func f32ToF16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	switch {
	case exp <= 0:
		return sign
	case exp >= 31:
		return sign | 0x7c00
	}
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// TestLoadSharded reads a checkpoint split across two files by
// model.safetensors.index.json, as large HF models are published.
func TestLoadSharded(t *testing.T) {
	c := tinyConfig()
	m, err := NewRandom(c, 6)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, modelFile)); err != nil {
		t.Fatal(err)
	}
	all := hfTensors(c, m.Params, "")
	half := len(all) / 2
	weightMap := map[string]string{}
	for i, part := range [][]stOut{all[:half], all[half:]} {
		name := fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)
		if err := writeSafetensors(filepath.Join(dir, name), part, nil); err != nil {
			t.Fatal(err)
		}
		for _, o := range part {
			weightMap[o.name] = name
		}
	}
	idx, _ := json.Marshal(map[string]any{"weight_map": weightMap})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Params, m.Params) {
		t.Error("sharded load differs from the saved parameters")
	}
}
