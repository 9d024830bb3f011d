package bert

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-research/sleuth/internal/cputime"
	"github.com/sleuth-research/sleuth/model/kernels"
)

// randomBase is a BERT-base-shaped model (12 layers, H=768, I=3072,
// 12 heads) with random weights, for timing only.
func randomBase(tb testing.TB) *Model {
	tb.Helper()
	c := Config{Vocab: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512, TypeVocab: 2, LayerNormEps: 1e-12}
	r := rand.New(rand.NewPCG(1, 2))
	ts := map[string]tensor{}
	add := func(name string, shape ...int) {
		v := make([]float32, prod(shape))
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.02)
		}
		ts[name] = tensor{Shape: shape, Data: v}
	}
	h, in := c.Hidden, c.Intermediate
	add("embeddings.word_embeddings.weight", c.Vocab, h)
	add("embeddings.position_embeddings.weight", c.MaxPositions, h)
	add("embeddings.token_type_embeddings.weight", 2, h)
	ln := func(n string) { add(n+".weight", h); add(n+".bias", h) }
	ln("embeddings.LayerNorm")
	for l := range c.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, n := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			add(p+n+".weight", h, h)
			add(p+n+".bias", h)
		}
		add(p+"intermediate.dense.weight", in, h)
		add(p+"intermediate.dense.bias", in)
		add(p+"output.dense.weight", h, in)
		add(p+"output.dense.bias", h)
		ln(p + "attention.output.LayerNorm")
		ln(p + "output.LayerNorm")
	}
	m, err := FromTensors(c, ts)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkBERTBase times a forward of 8 sequences of 128 tokens and of
// 64 query-sized sequences of 16 (one op = the batch): as one packed batch
// on one core and on every core, and one sequence at a time on one core
// (the encoder before batching). tokens/cpu-s divides by this process's
// CPU time, the steadier figure on a shared machine. Compare with
// bench/dense/encoder_torch.py on the same shapes.
func BenchmarkBERTBase(b *testing.B) {
	m := randomBase(b)
	for _, shape := range []struct{ seqs, tokens int }{{8, 128}, {64, 16}} {
		ids := make([]int, shape.tokens)
		for i := range ids {
			ids[i] = 1000 + i
		}
		batch := make([][]int, shape.seqs)
		for i := range batch {
			batch[i] = ids
		}
		for _, c := range []struct {
			name    string
			workers int
			batched bool
		}{{"1core", 1, true}, {"allcores", 0, true}, {"1core-unbatched", 1, false}} {
			if c.workers == 0 {
				m.Kernels = kernels.New(0)
			}
			b.Run(fmt.Sprintf("%dx%d/%s", shape.seqs, shape.tokens, c.name), func(b *testing.B) {
				c0 := cputime.Process()
				for b.Loop() {
					if c.batched {
						if _, err := m.ForwardBatch(batch); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for _, s := range batch {
						if _, err := m.Forward(s); err != nil {
							b.Fatal(err)
						}
					}
				}
				tok := float64(shape.seqs * shape.tokens * b.N)
				b.ReportMetric(tok/b.Elapsed().Seconds(), "tokens/s")
				if cpu := cputime.Process() - c0; cpu > 0 {
					b.ReportMetric(tok/cpu.Seconds(), "tokens/cpu-s")
				}
			})
			if m.Kernels != nil {
				m.Kernels.Close()
				m.Kernels = nil
			}
		}
	}
}
