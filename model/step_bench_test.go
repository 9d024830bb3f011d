package model

import (
	"path/filepath"
	"testing"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// go test -run=^$ -bench=DecodeStep ./model: one batched decoding step of
// 16 sequences at position 100 (aidreams260K), the inner loop of Generate.
func BenchmarkDecodeStep(b *testing.B) {
	m, err := LoadLlama2C(shareddata.Path(b, filepath.Join("models", "aidreams260K.bin")))
	if err != nil {
		b.Fatal(err)
	}
	const R, pos = 16, 100
	s := m.newRunState(R, R, pos+1)
	rows := make([]row, R)
	for i := range rows {
		c := m.NewKVCache(pos + 1)
		for j := range c.K {
			c.K[j], c.V[j] = float32(j%13)*0.01, float32(j%7)*0.01
		}
		c.Len = pos
		rows[i] = row{tok: 5 + i, pos: pos, cache: c, logits: true}
	}
	for b.Loop() {
		m.forward(s, rows)
	}
	b.ReportMetric(float64(b.N*R)/b.Elapsed().Seconds(), "tokens/s")
}

// go test -run=^$ -bench=TrainStepQuickstart ./model: one full training
// step (forward, backward, AdamW) of the quickstart's model
// (examples/base) at the 4×1024 micro-batch rl/batch.go plans.
func BenchmarkTrainStepQuickstart(b *testing.B) {
	raw, err := examples.Base.ReadFile("base/config.json")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseHFConfig(raw)
	if err != nil {
		b.Fatal(err)
	}
	const B, T = 4, 1024
	m, err := NewRandom(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	k := kernels.New(0)
	defer k.Close()
	m.SetMatmuls(k)
	tr, err := NewTrainer(m, DefaultTrainConfig(B, T), 1)
	if err != nil {
		b.Fatal(err)
	}
	tokens, targets := make([]int, B*T), make([]int, B*T)
	for i := range tokens {
		tokens[i], targets[i] = tr.RNG.IntN(cfg.Vocab), tr.RNG.IntN(cfg.Vocab)
	}
	for b.Loop() {
		if _, err := tr.ForwardBackward(tokens, targets, nil); err != nil {
			b.Fatal(err)
		}
		tr.Update()
	}
	b.ReportMetric(float64(b.N*B*T)/b.Elapsed().Seconds(), "tokens/s")
}
