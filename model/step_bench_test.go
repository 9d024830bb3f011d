package model

import (
	"path/filepath"
	"testing"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/shareddata"
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
	benchTrainStep(b, cfg, 4, 1024)
}
