package model

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// go test -run=^$ -bench=Generate ./model
func BenchmarkGenerate(b *testing.B) {
	path := shareddata.Path(b, filepath.Join("models", "aidreams260K.bin"))
	m, err := LoadLlama2C(path)
	if err != nil {
		b.Fatal(err)
	}
	k := kernels.New(0)
	defer k.Close()
	for _, n := range []int{1, 16, -16} {
		if n < 0 {
			m.SetMatmuls(k)
			n = -n
		}
		b.Run(fmt.Sprintf("n=%d/%T", n, m.mm), func(b *testing.B) {
			tokens := 0
			for b.Loop() {
				seqs, err := m.Generate(context.Background(), [][]int{{1}}, GenerateOptions{MaxTokens: 127, N: n, Temperature: 1, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range seqs {
					tokens += len(s.Tokens)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// go test -run=^$ -bench=TrainStep ./model
func BenchmarkTrainStep(b *testing.B) {
	benchTrainStep(b, Config{Arch: "llama", Dim: 128, HiddenDim: 352, Layers: 4, Heads: 4, KVHeads: 4, Vocab: 512,
		SeqLen: 128, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true}, 16, 128)
}

// benchTrainStep times full training steps (forward, backward, AdamW) of
// a random cfg model on B×T random tokens.
func benchTrainStep(b *testing.B, cfg Config, B, T int) {
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

// go test -run=^$ -bench=GenerateD512 ./model
func BenchmarkGenerateD512(b *testing.B) {
	m, err := NewRandom(Config{Arch: "llama", Dim: 512, HiddenDim: 1376, Layers: 8, Heads: 8, KVHeads: 8,
		Vocab: 512, SeqLen: 256, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true}, 1)
	if err != nil {
		b.Fatal(err)
	}
	k := kernels.New(0)
	defer k.Close()
	m.SetMatmuls(k)
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			tokens := 0
			for b.Loop() {
				seqs, err := m.Generate(context.Background(), [][]int{{1}}, GenerateOptions{MaxTokens: 64, N: n, Temperature: 1, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range seqs {
					tokens += len(s.Tokens)
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
