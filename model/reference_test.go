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

// refModel is the reference's view of the parameters, by HF name.
type refModel struct {
	c Config
	t map[string][]float64
}

func (r refModel) layer(l int, name string) []float64 {
	return r.t["model.layers."+itoa(l)+"."+name]
}

func refMatvec(w, x []float64, rows int) []float64 {
	out := make([]float64, rows)
	for i := range rows {
		for j, xv := range x {
			out[i] += w[i*len(x)+j] * xv
		}
	}
	return out
}

func (r refModel) norm(x, w []float64) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	rs := 1 / math.Sqrt(ss/float64(len(x))+r.c.NormEps)
	out := make([]float64, len(x))
	for i := range x {
		out[i] = x[i] * rs * w[i]
	}
	return out
}

// rope rotates every head of v to position pos.
func (r refModel) rope(v []float64, pos int) {
	D := r.c.HeadSize()
	for h := 0; h < len(v)/D; h++ {
		for i := 0; i < D/2; i++ {
			a, b := h*D+2*i, h*D+2*i+1
			if r.c.RopeLayout == RopeHalf {
				a, b = h*D+i, h*D+i+D/2
			}
			ang := float64(pos) * math.Pow(r.c.RopeTheta, -float64(2*i)/float64(D))
			x0, x1 := v[a], v[b]
			v[a], v[b] = x0*math.Cos(ang)-x1*math.Sin(ang), x0*math.Sin(ang)+x1*math.Cos(ang)
		}
	}
}

// qkv projects every position of xs for layer l, with biases and RoPE.
func (r refModel) qkv(l int, xs [][]float64) (qs, ks, vs [][]float64) {
	c := r.c
	for t := range xs {
		h := r.norm(xs[t], r.layer(l, "input_layernorm.weight"))
		q := refMatvec(r.layer(l, "self_attn.q_proj.weight"), h, c.Dim)
		k := refMatvec(r.layer(l, "self_attn.k_proj.weight"), h, c.KVDim())
		v := refMatvec(r.layer(l, "self_attn.v_proj.weight"), h, c.KVDim())
		if c.QKVBias {
			for i := range q {
				q[i] += r.layer(l, "self_attn.q_proj.bias")[i]
			}
			for i := range k {
				k[i] += r.layer(l, "self_attn.k_proj.bias")[i]
				v[i] += r.layer(l, "self_attn.v_proj.bias")[i]
			}
		}
		r.rope(q, t)
		r.rope(k, t)
		qs, ks, vs = append(qs, q), append(ks, k), append(vs, v)
	}
	return qs, ks, vs
}

// attend is causal multi-head attention at position t.
func (r refModel) attend(t int, qs, ks, vs [][]float64) []float64 {
	c := r.c
	D := c.HeadSize()
	y := make([]float64, c.Dim)
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
	return y
}

// block runs decoder layer l over one sequence in place.
func (r refModel) block(l int, xs [][]float64) {
	c := r.c
	qs, ks, vs := r.qkv(l, xs)
	for t := range xs {
		o := refMatvec(r.layer(l, "self_attn.o_proj.weight"), r.attend(t, qs, ks, vs), c.Dim)
		for i := range o {
			xs[t][i] += o[i]
		}
		h := r.norm(xs[t], r.layer(l, "post_attention_layernorm.weight"))
		g := refMatvec(r.layer(l, "mlp.gate_proj.weight"), h, c.HiddenDim)
		u := refMatvec(r.layer(l, "mlp.up_proj.weight"), h, c.HiddenDim)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		o = refMatvec(r.layer(l, "mlp.down_proj.weight"), g, c.Dim)
		for i := range o {
			xs[t][i] += o[i]
		}
	}
}

// refLoss computes Σ w·(−log p(target)) for a (B,T) batch.
func refLoss(c Config, p []float64, tokens, targets []int, weights []float64, B, T int) float64 {
	r := refModel{c: c, t: map[string][]float64{}}
	for _, ti := range Layout(c) {
		r.t[ti.Name] = p[ti.Off : ti.Off+ti.Size]
	}
	C := c.Dim
	emb, out := r.t["model.embed_tokens.weight"], r.t["lm_head.weight"]
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
			r.block(l, xs)
		}
		for t := range T {
			tg := targets[b*T+t]
			if tg < 0 {
				continue
			}
			logits := refMatvec(out, r.norm(xs[t], r.t["model.norm.weight"]), c.Vocab)
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
