package model

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

func TestZZInduction(t *testing.T) {
	lr, _ := strconv.ParseFloat(os.Getenv("ZZLR"), 64)
	const B, T = 32, 96
	vocab, drill := 2000, 500
	cfg := Config{Arch: "llama", Dim: 128, HiddenDim: 341, Layers: 3, Heads: 4, KVHeads: 4, Vocab: vocab, SeqLen: T,
		RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}
	m, _ := NewRandom(cfg, 7)
	tc := DefaultTrainConfig(B, T)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = lr, lr/10, 20, 400
	tr, _ := NewTrainer(m, tc, 9)
	for step := 0; step < 400; step++ {
		tokens, targets := make([]int, B*T), make([]int, B*T)
		for b := range B {
			n := 10 + tr.RNG.IntN(30)
			row := tokens[b*T : (b+1)*T]
			for i := range T {
				row[i] = tr.RNG.IntN(drill)
			}
			for i := 0; i < n && n+i < T; i++ {
				row[n+i] = row[i]
			}
			for i := range T - 1 {
				targets[b*T+i] = -1
				if i+1 >= n && i+1 < 2*n {
					targets[b*T+i] = row[i+1]
				}
			}
			targets[b*T+T-1] = -1
		}
		loss, _ := tr.ForwardBackward(tokens, targets, nil)
		tr.Update()
		if step%25 == 0 {
			fmt.Printf("lr %g step %d loss %.3f\n", lr, step, loss)
		}
	}
}
