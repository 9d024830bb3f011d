package model_test

import (
	"context"
	"fmt"

	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// Train a tiny model from scratch for a few steps, then sample from it.
func Example() {
	cfg := model.Config{Arch: "llama", Dim: 32, HiddenDim: 64, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 16,
		SeqLen: 32, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: 1, EOS: 2}
	m, err := model.NewRandom(cfg, 1)
	if err != nil {
		panic(err)
	}
	k := kernels.New(0) // multi-core matmuls
	defer k.Close()
	m.SetMatmuls(k)

	tc := model.DefaultTrainConfig(4, 8)
	tc.LR = 1e-2
	tr, err := model.NewTrainer(m, tc, 1)
	if err != nil {
		panic(err)
	}
	tokens, targets := make([]int, 4*8), make([]int, 4*8)
	for i := range tokens { // learn "count up": next = token + 1
		tokens[i] = 3 + i%8
		targets[i] = 4 + i%8
	}
	var first, last float64
	for step := range 100 {
		loss, err := tr.ForwardBackward(tokens, targets, nil)
		if err != nil {
			panic(err)
		}
		tr.Update()
		if step == 0 {
			first = loss
		}
		last = loss
	}
	seqs, err := m.Generate(context.Background(), [][]int{{3, 4}}, model.GenerateOptions{MaxTokens: 4})
	if err != nil {
		panic(err)
	}
	fmt.Println(last < first/10, seqs[0].Tokens, seqs[0].FinishReason)
	// Output: true [5 6 7 8] length
}
