package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// TestDeterministicRowsIgnoreTheBatch: with Deterministic set, a row's
// linear-layer output is bitwise the same whether it is computed alone or
// among any number of other rows (without it, rows in a full kernel tile
// and rows at the edge are summed in different orders).
func TestDeterministicRowsIgnoreTheBatch(t *testing.T) {
	cfg := Config{Dim: 64, HiddenDim: 128, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 200, SeqLen: 16, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}
	m := deterministicModel(t, cfg, 3)
	const K, N = 64, 200
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]float32, 300*K)
	for i := range rows {
		rows[i] = float32(rng.NormFloat64())
	}
	alone := make([]float32, N)
	m.linear(alone, rows[:K], m.W.Output, 1, K, N)
	for _, r := range []int{1, 2, 3, 5, 6, 7, 12, 13, 16, 40, 255, 256, 300} {
		out := make([]float32, r*N)
		m.linear(out, rows[:r*K], m.W.Output, r, K, N)
		for j := range N {
			if out[j] != alone[j] {
				t.Fatalf("batch of %d: row 0 column %d is %g, alone %g", r, j, out[j], alone[j])
			}
		}
	}
}

// TestDeterministicDecodeIgnoresTheBatch: with Deterministic set, one
// decoding step gives every sequence bitwise the same logits alone as in a
// batch with others. The hidden size is not a multiple of 8, so the MLP's
// activations over all rows of the batch end in a ragged tail, whose place
// moves with the number of rows (the SiLU there once went through a scalar
// exp that rounds differently from the vector one).
func TestDeterministicDecodeIgnoresTheBatch(t *testing.T) {
	cfg := Config{Dim: 32, HiddenDim: 87, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 200, SeqLen: 32, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}
	m := deterministicModel(t, cfg, 5)
	for i := range m.W.Layers[0].MLP.W1 { // gates of order 1, not 0.01: the two exps differ there
		m.W.Layers[0].MLP.W1[i] *= 50
	}
	const seqs = 64
	rng := rand.New(rand.NewPCG(3, 4))
	prefixes := make([]*KVCache, seqs)
	rows := make([]row, seqs)
	for i := range seqs {
		prompt := make([]int, 1+rng.IntN(12))
		for j := range prompt {
			prompt[j] = rng.IntN(cfg.Vocab)
		}
		prefixes[i] = m.NewKVCache(cfg.SeqLen)
		m.prefill(m.newRunState(16, 1, cfg.SeqLen), prefixes[i], prompt, len(prompt)-1, 16, func(int, []float32) {})
		rows[i] = row{tok: rng.IntN(cfg.Vocab), pos: len(prompt), logits: true}
	}
	// step runs rows idx as one batch on fresh copies of their prompts'
	// caches and returns each row's final hidden state and logits.
	width := cfg.Dim + cfg.Vocab
	step := func(idx []int) []float32 {
		batch := make([]row, len(idx))
		for j, i := range idx {
			batch[j] = rows[i]
			batch[j].cache = m.NewKVCache(cfg.SeqLen)
			batch[j].cache.CopyFrom(prefixes[i], cfg.Layers, cfg.KVHeads, cfg.HeadSize())
		}
		s := m.newRunState(len(idx), len(idx), cfg.SeqLen)
		m.forward(s, batch)
		out := make([]float32, 0, len(idx)*width)
		for j := range idx {
			out = append(out, s.x[j*cfg.Dim:(j+1)*cfg.Dim]...)
			out = append(out, s.logits[j*cfg.Vocab:(j+1)*cfg.Vocab]...)
		}
		return out
	}
	all := make([]int, seqs)
	for i := range all {
		all[i] = seqs - 1 - i
	}
	for _, idx := range [][]int{all, all[:13], all[5:7]} {
		got := step(idx)
		for j, i := range idx {
			alone := step([]int{i})
			for c, g := range got[j*width : (j+1)*width] {
				if math.Float32bits(g) != math.Float32bits(alone[c]) {
					what := fmt.Sprintf("hidden state %d", c)
					if c >= cfg.Dim {
						what = fmt.Sprintf("logit %d", c-cfg.Dim)
					}
					t.Errorf("sequence %d, row %d of %d: %s is %g, alone %g", i, j, len(idx), what, g, alone[c])
					break
				}
			}
		}
	}
}

// deterministicModel is a random model in Deterministic mode whose matrix
// products run on two workers, as rollouts run it.
func deterministicModel(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := NewRandom(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.New(2)
	t.Cleanup(k.Close)
	m.SetMatmuls(k)
	m.Deterministic = true
	return m
}
