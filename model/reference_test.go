package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// reference_test.go: a deliberately naive float64 implementation of the
// whole model and loss, written without the engine's ops, buffers or
// kernels. Its loss checks trainForward; its central differences (exact to
// ~1e-8 in float64) check every parameter's gradient from trainBackward.

// refLoss computes Σ w·(−log p(target)) for a (B,T) batch.
func refLoss(c Config, p []float64, tokens, targets []int, weights []float64, B, T int) float64 {
	tensor := map[string][]float64{}
	for _, ti := range Layout(c) {
		tensor[ti.Name] = p[ti.Off : ti.Off+ti.Size]
	}
	get := func(name string) []float64 { return tensor[name] }
	layer := func(l int, name string) []float64 { return tensor["model.layers."+itoa(l)+"."+name] }
	C, D, F, V := c.Dim, c.HeadSize(), c.HiddenDim, c.Vocab
	matvec := func(w, x []float64, rows int) []float64 {
		out := make([]float64, rows)
		for r := range rows {
			for j, xv := range x {
				out[r] += w[r*len(x)+j] * xv
			}
		}
		return out
	}
	norm := func(x, w []float64) []float64 {
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(len(x))+c.NormEps)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * r * w[i]
		}
		return out
	}
	rot := func(v []float64, pos int) {
		for h := 0; h < len(v)/D; h++ {
			for i := 0; i < D/2; i++ {
				a, b := h*D+2*i, h*D+2*i+1
				if c.RopeLayout == RopeHalf {
					a, b = h*D+i, h*D+i+D/2
				}
				ang := float64(pos) * math.Pow(c.RopeTheta, -float64(2*i)/float64(D))
				x0, x1 := v[a], v[b]
				v[a], v[b] = x0*math.Cos(ang)-x1*math.Sin(ang), x0*math.Sin(ang)+x1*math.Cos(ang)
			}
		}
	}
	emb, out := get("model.embed_tokens.weight"), get("lm_head.weight")
	if c.TiedEmbeddings {
		out = emb
	}
	loss := 0.0
	for b := range B {
		xs := make([][]float64, T)
		for t := range T {
			xs[t] = append([]float64(nil), emb[tokens[b*T+t]*C:(tokens[b*T+t]+1)*C]...)
		}
		for l := range c.Layers {
			qs, ks, vs := make([][]float64, T), make([][]float64, T), make([][]float64, T)
			for t := range T {
				h := norm(xs[t], layer(l, "input_layernorm.weight"))
				qs[t] = matvec(layer(l, "self_attn.q_proj.weight"), h, C)
				ks[t] = matvec(layer(l, "self_attn.k_proj.weight"), h, c.KVDim())
				vs[t] = matvec(layer(l, "self_attn.v_proj.weight"), h, c.KVDim())
				if c.QKVBias {
					for i := range qs[t] {
						qs[t][i] += layer(l, "self_attn.q_proj.bias")[i]
					}
					for i := range ks[t] {
						ks[t][i] += layer(l, "self_attn.k_proj.bias")[i]
						vs[t][i] += layer(l, "self_attn.v_proj.bias")[i]
					}
				}
				rot(qs[t], t)
				rot(ks[t], t)
			}
			for t := range T {
				y := make([]float64, C)
				for h := range c.Heads {
					kv := h / (c.Heads / c.KVHeads)
					sc, mx := make([]float64, t+1), math.Inf(-1)
					for s := 0; s <= t; s++ {
						for d := range D {
							sc[s] += qs[t][h*D+d] * ks[s][kv*D+d]
						}
						sc[s] /= math.Sqrt(float64(D))
						mx = math.Max(mx, sc[s])
					}
					sum := 0.0
					for s := range sc {
						sc[s] = math.Exp(sc[s] - mx)
						sum += sc[s]
					}
					for s := range sc {
						for d := range D {
							y[h*D+d] += sc[s] / sum * vs[s][kv*D+d]
						}
					}
				}
				o := matvec(layer(l, "self_attn.o_proj.weight"), y, C)
				for i := range o {
					xs[t][i] += o[i]
				}
				h := norm(xs[t], layer(l, "post_attention_layernorm.weight"))
				g, u := matvec(layer(l, "mlp.gate_proj.weight"), h, F), matvec(layer(l, "mlp.up_proj.weight"), h, F)
				for i := range g {
					g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
				}
				o = matvec(layer(l, "mlp.down_proj.weight"), g, C)
				for i := range o {
					xs[t][i] += o[i]
				}
			}
		}
		for t := range T {
			tg := targets[b*T+t]
			if tg < 0 {
				continue
			}
			logits := matvec(out, norm(xs[t], get("model.norm.weight")), V)
			mx := math.Inf(-1)
			for _, v := range logits {
				mx = math.Max(mx, v)
			}
			sum := 0.0
			for _, v := range logits {
				sum += math.Exp(v - mx)
			}
			loss -= weights[b*T+t] * (logits[tg] - mx - math.Log(sum))
		}
	}
	return loss
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

// TestAgainstFloat64Reference compares the engine's loss and every
// gradient element with the naive float64 reference.
func TestAgainstFloat64Reference(t *testing.T) {
	base := Config{Arch: "llama", Dim: 8, HiddenDim: 12, Layers: 2, Heads: 4, KVHeads: 2, Vocab: 11, SeqLen: 8, RopeTheta: 10000, NormEps: 1e-5}
	cases := map[string]func(c *Config){
		"llama-half-tied":   func(c *Config) { c.TiedEmbeddings = true },
		"llama-interleaved": func(c *Config) { c.RopeLayout = RopeInterleaved },
		"qwen2-bias-untied": func(c *Config) { c.Arch, c.QKVBias = "qwen2", true },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := base
			edit(&c)
			m, err := NewRandom(c, 13)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range m.Params {
				m.Params[i] += float32(rng.NormFloat64() * 0.3)
			}
			const B, T = 2, 5
			tokens, targets, w := make([]int, B*T), make([]int, B*T), make([]float32, B*T)
			w64 := make([]float64, B*T)
			for i := range tokens {
				tokens[i], targets[i] = rng.IntN(c.Vocab), rng.IntN(c.Vocab)
				w[i] = float32(rng.Float64())
				w64[i] = float64(w[i])
			}
			targets[4] = -1
			tr, err := NewTrainer(m, DefaultTrainConfig(B, T), 1)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := tr.ForwardBackward(tokens, targets, w)
			if err != nil {
				t.Fatal(err)
			}
			p := make([]float64, len(m.Params))
			for i, v := range m.Params {
				p[i] = float64(v)
			}
			ref := refLoss(c, p, tokens, targets, w64, B, T)
			if math.Abs(loss-ref) > 1e-5*math.Max(1, math.Abs(ref)) {
				t.Errorf("loss %.8f, reference %.8f", loss, ref)
			}
			worst, scale := 0.0, 0.0
			const h = 1e-5
			for i := range p {
				orig := p[i]
				p[i] = orig + h
				lp := refLoss(c, p, tokens, targets, w64, B, T)
				p[i] = orig - h
				lm := refLoss(c, p, tokens, targets, w64, B, T)
				p[i] = orig
				num := (lp - lm) / (2 * h)
				worst = math.Max(worst, math.Abs(num-float64(tr.Grads[i])))
				scale = math.Max(scale, math.Abs(num))
			}
			t.Logf("loss diff %.2g; max gradient error %.2g of max gradient %.3g (tolerance 1e-4 relative)", loss-ref, worst, scale)
			if worst > 1e-4*scale {
				t.Errorf("gradients differ from the float64 reference by %g (max gradient %g)", worst, scale)
			}
		})
	}
}
