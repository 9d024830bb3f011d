package model

import (
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
	m, err := NewRandom(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	k := kernels.New(2)
	defer k.Close()
	m.SetMatmuls(k)
	m.Deterministic = true
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
