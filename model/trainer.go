package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// TrainConfig sets up a Trainer. Every field is used as given; start from
// DefaultTrainConfig and change what you need.
type TrainConfig struct {
	Batch, SeqLen int     // B and T of one micro-batch
	LR            float64 // peak learning rate
	MinLR         float64 // where the cosine decay ends
	WarmupSteps   int     // linear warm-up from LR/WarmupSteps to LR
	// DecaySteps is the length of the cosine decay after warm-up; 0 keeps
	// LR constant after warm-up.
	DecaySteps  int
	WeightDecay float64 // decoupled (AdamW), on matrices only
	Beta1       float64
	Beta2       float64
	Eps         float64
	GradClip    float64 // clip the global gradient norm to this; 0 disables
	// AccumSteps is how many micro-batches (ForwardBackward calls) make one
	// optimizer step; nil weights are scaled by 1/AccumSteps so a step
	// sees the mean over all of them.
	AccumSteps int
	// RestartStep, when positive, starts warm restarts at that optimizer
	// step: cycles of RestartEvery steps, each a linear warm-up over
	// WarmupSteps to RestartLR (the first from the rate the schedule had
	// reached, the others from MinLR), then cosine to MinLR by the cycle's
	// end. Steps before it are untouched, so a run that never reaches it
	// is the run without it.
	RestartStep  int     `json:",omitempty"`
	RestartLR    float64 `json:",omitempty"`
	RestartEvery int     `json:",omitempty"`
}

// DefaultTrainConfig is a reasonable small-model setting.
func DefaultTrainConfig(batch, seqLen int) TrainConfig {
	return TrainConfig{
		Batch: batch, SeqLen: seqLen, LR: 3e-4, MinLR: 3e-5, WarmupSteps: 0,
		WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, GradClip: 1, AccumSteps: 1,
	}
}

func (c TrainConfig) validate() error {
	switch {
	case c.Batch <= 0 || c.SeqLen <= 0:
		return fmt.Errorf("train config: batch %d and seq len %d must be positive", c.Batch, c.SeqLen)
	case !(c.LR > 0) || c.MinLR < 0 || c.WeightDecay < 0 || c.GradClip < 0:
		return fmt.Errorf("train config: bad learning rate, weight decay or clip: %+v", c)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || !(c.Eps > 0):
		return fmt.Errorf("train config: betas must be in [0,1) and eps positive: %+v", c)
	case c.AccumSteps <= 0 || c.WarmupSteps < 0 || c.DecaySteps < 0:
		return fmt.Errorf("train config: accum steps must be positive, warm-up and decay non-negative: %+v", c)
	case c.RestartStep < 0 || c.RestartEvery < 0 || c.RestartLR < 0 || (c.RestartStep > 0 && (!(c.RestartLR > 0) || c.RestartEvery <= c.WarmupSteps)):
		return fmt.Errorf("train config: restarts need a positive step and rate, and cycles longer than the warm-up: %+v", c)
	}
	return nil
}

// Trainer owns gradients and AdamW moments for a model (same layout as its
// parameters) and updates the model in place. It is not safe for
// concurrent use, nor to use while the model generates.
type Trainer struct {
	Model  *Model
	Cfg    TrainConfig
	Grads  []float32 // same layout as Model.Params
	G      *Weights  // views into Grads
	M, V   []float32 // AdamW first and second moments
	Step   int       // optimizer steps taken
	RNGSrc *rand.PCG // for the caller's data sampling; saved in checkpoints
	RNG    *rand.Rand
	acts   *acts          // the current shape's activations, over arena
	arena  []float32      // sized for the largest shape so far
	attn   []*attnScratch // attention blocks per worker, for any shape
	chunks []adamChunk
}

// adamChunk is a piece of one tensor, the unit of the parallel update.
type adamChunk struct {
	off, size int
	decay     bool
}

func adamChunks(c Config) []adamChunk {
	const piece = 1 << 15
	var out []adamChunk
	for _, ti := range Layout(c) {
		for o := 0; o < ti.Size; o += piece {
			out = append(out, adamChunk{ti.Off + o, min(piece, ti.Size-o), ti.Decay})
		}
	}
	return out
}

// UpdateStats reports one optimizer step.
type UpdateStats struct {
	LR       float64
	GradNorm float64 // before clipping
}

// NewTrainer prepares to train m with cfg; seed seeds t.RNG. Matrix
// products run through the model's Matmuls: call
// m.SetMatmuls(kernels.New(0)) first to use every core.
func NewTrainer(m *Model, cfg TrainConfig, seed uint64) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.SeqLen > m.Config.SeqLen {
		return nil, fmt.Errorf("train: sequence length %d exceeds the model's %d", cfg.SeqLen, m.Config.SeqLen)
	}
	n := len(m.Params)
	t := &Trainer{Model: m, Cfg: cfg, Grads: make([]float32, n), M: make([]float32, n), V: make([]float32, n)}
	var err error
	if t.G, err = BindWeights(m.Config, t.Grads); err != nil {
		return nil, err
	}
	t.RNGSrc = rand.NewPCG(seed, 0x7a41_7e57)
	t.RNG = rand.New(t.RNGSrc)
	t.chunks = adamChunks(m.Config)
	return t, nil
}

// SetShape makes the following micro-batches (B,T) instead of the
// configured Batch×SeqLen, so variable-length data (RL episodes) need not
// be padded to the longest sequence the model allows. One buffer, sized
// for the largest shape so far, holds the activations of whichever shape
// is in use; gradients accumulate across shapes as usual.
func (t *Trainer) SetShape(B, T int) error {
	if B <= 0 || T <= 0 || T > t.Model.Config.SeqLen {
		return fmt.Errorf("train: shape %d×%d must be positive with T at most the model's %d", B, T, t.Model.Config.SeqLen)
	}
	if a := t.acts; a != nil && a.B == B && a.T == T {
		return nil
	}
	t.acts = newActs(t.Model.Config, B, T, &t.arena, &t.attn)
	return nil
}

// current returns the activations of the shape in use, the configured one
// until SetShape says otherwise.
func (t *Trainer) current() *acts {
	if t.acts == nil {
		_ = t.SetShape(t.Cfg.Batch, t.Cfg.SeqLen) // validated in NewTrainer
	}
	return t.acts
}

// ForwardBackward runs one (B,T) micro-batch and adds its gradients. The
// loss is Σ_i weights[i]·(−log p(targets[i] | tokens[..i])), over
// row-major (B,T) slices; targets < 0 are ignored; nil weights mean
// 1/(counted targets·AccumSteps) each (the mean). It returns the loss.
func (t *Trainer) ForwardBackward(tokens, targets []int, weights []float32) (float64, error) {
	w, err := t.prepare(tokens, targets, weights)
	if err != nil {
		return 0, err
	}
	a := t.current()
	loss := t.Model.trainForward(a, tokens, targets, w)
	t.Model.trainBackward(a, t.G, tokens, targets, w)
	return loss, nil
}

// Loss runs the forward pass only and returns the loss as ForwardBackward
// defines it. TokenLogprobs then holds log p(target) per token.
func (t *Trainer) Loss(tokens, targets []int, weights []float32) (float64, error) {
	w, err := t.prepare(tokens, targets, weights)
	if err != nil {
		return 0, err
	}
	return t.Model.trainForward(t.current(), tokens, targets, w), nil
}

// TokenLogprobs is log p(target) for each token of the last batch (B·T);
// valid until the next call.
func (t *Trainer) TokenLogprobs() []float32 { return t.current().logp }

// Hidden is the final normalised hidden state of each token of the last
// batch ((B·T)×Dim, what the output layer reads), for heads trained beside
// the model such as PPO's value head; valid until the next call.
func (t *Trainer) Hidden() []float32 { return t.current().lnf }

func (t *Trainer) prepare(tokens, targets []int, weights []float32) ([]float32, error) {
	a := t.current()
	if err := t.Model.checkBatch(a, tokens, targets, weights); err != nil {
		return nil, err
	}
	if weights != nil {
		return weights, nil
	}
	w, counted := a.weights, 0
	for _, tg := range targets {
		if tg >= 0 {
			counted++
		}
	}
	v := float32(1 / float64(max(counted, 1)*t.Cfg.AccumSteps))
	for i := range w {
		w[i] = v
	}
	return w, nil
}

// LRAt is the learning rate of optimizer step (0-based): linear warm-up,
// then cosine decay from LR to MinLR over DecaySteps, then MinLR; from
// RestartStep on, the restart cycles.
func (c TrainConfig) LRAt(step int) float64 {
	if c.RestartStep > 0 && step >= c.RestartStep {
		k, s := (step-c.RestartStep)/c.RestartEvery, (step-c.RestartStep)%c.RestartEvery
		if s < c.WarmupSteps {
			from := c.MinLR
			if k == 0 {
				from = c.firstCycle(c.RestartStep)
			}
			return from + (c.RestartLR-from)*float64(s+1)/float64(c.WarmupSteps)
		}
		return cosine(c.RestartLR, c.MinLR, s-c.WarmupSteps, c.RestartEvery-c.WarmupSteps)
	}
	return c.firstCycle(step)
}

func (c TrainConfig) firstCycle(step int) float64 {
	if step < c.WarmupSteps {
		return c.LR * float64(step+1) / float64(c.WarmupSteps)
	}
	return cosine(c.LR, c.MinLR, step-c.WarmupSteps, c.DecaySteps)
}

// cosine falls from hi to lo over n steps (n = 0: hi throughout).
func cosine(hi, lo float64, step, n int) float64 {
	if n == 0 {
		return hi
	}
	p := min(1, float64(step)/float64(n))
	return lo + 0.5*(hi-lo)*(1+math.Cos(math.Pi*p))
}

// Update clips the accumulated gradients to the global norm, takes one
// AdamW step and zeroes the gradients.
func (t *Trainer) Update() UpdateStats {
	c := t.Cfg
	sq := 0.0
	for _, g := range t.Grads {
		sq += float64(g) * float64(g)
	}
	norm := math.Sqrt(sq)
	scale := float32(1)
	if c.GradClip > 0 && norm > c.GradClip {
		scale = float32(c.GradClip / norm)
	}
	lr := c.LRAt(t.Step)
	t.Step++
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	bc1 := float32(1 - math.Pow(c.Beta1, float64(t.Step)))
	bc2 := float32(1 - math.Pow(c.Beta2, float64(t.Step)))
	chunks := t.chunks
	parallelFor(len(chunks), len(t.Grads)*4, func(_, lo, hi int) {
		for _, ch := range chunks[lo:hi] {
			decay := float32(0)
			if ch.decay {
				decay = float32(c.WeightDecay)
			}
			a, b := ch.off, ch.off+ch.size
			adamw(t.Model.Params[a:b], t.Grads[a:b], t.M[a:b], t.V[a:b],
				scale, float32(lr), b1, b2, bc1, bc2, float32(c.Eps), decay)
		}
	})
	clear(t.Grads)
	return UpdateStats{LR: lr, GradNorm: norm}
}

// adamw updates p in place: m, v moments of the scaled gradient, bias
// corrected by bc1, bc2, with decoupled weight decay.
func adamw(p, g, m, v []float32, scale, lr, b1, b2, bc1, bc2, eps, decay float32) {
	for i := range p {
		gi := g[i] * scale
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		mh, vh := m[i]/bc1, v[i]/bc2
		p[i] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+eps) + decay*p[i])
	}
}

// Params is the model's flat parameter buffer.
func (t *Trainer) Params() []float32 { return t.Model.Params }

// OptimStep is Update as a training loop that may drive a remote engine
// sees it (rl.Learner): the in-process step cannot fail.
func (t *Trainer) OptimStep() (UpdateStats, error) { return t.Update(), nil }

// Settings is the configuration the following steps use; a caller may
// change the learning-rate schedule between steps (RL runs at a constant
// rate), not the shape.
func (t *Trainer) Settings() *TrainConfig { return &t.Cfg }
