package rl

import (
	"fmt"
	"math"
)

// Aggregation says how token terms are averaged into the loss.
type Aggregation string

const (
	// TokenMean averages over every policy token of the batch (DAPO).
	TokenMean Aggregation = "token-mean"
	// SeqMean averages each sequence's tokens, then the sequences (GRPO).
	SeqMean Aggregation = "seq-mean"
	// SeqSum sums each sequence's tokens and divides by a constant (the
	// largest response length), Dr. GRPO's length-unbiased form.
	SeqSum Aggregation = "seq-sum"
)

// KLEstimator names the per-token KL estimate to the reference policy.
type KLEstimator string

const (
	KLNone KLEstimator = ""
	KLk1   KLEstimator = "k1" // log π − log π_ref
	KLk3   KLEstimator = "k3" // π_ref/π − log(π_ref/π) − 1, unbiased and non-negative
)

// LossConfig sets the clipped objective.
type LossConfig struct {
	// The ratio is kept in [1−ClipLow, 1+ClipHigh]; 0.2 and 0.2 (0.28 for
	// DAPO's clip-higher).
	ClipLow     float64     `yaml:"clip_low"`
	ClipHigh    float64     `yaml:"clip_high"`
	Aggregation Aggregation `yaml:"aggregation"`
	KL          KLEstimator `yaml:"kl"`
	KLCoef      float64     `yaml:"kl_coef"`           // β
	MaxLen      int         `yaml:"max_len,omitempty"` // SeqSum's constant; 0 uses the longest sequence
	// Entropy is the entropy bonus's coefficient: the loss subtracts
	// Entropy·H, with H estimated from the sampled tokens' surprisal.
	Entropy float64 `yaml:"entropy"`
}

// Seq is one sequence's policy tokens as the loss sees them. Mask is 1 on
// tokens the policy generated and 0 on environment tokens; the other slices
// are aligned with it (values at masked-out positions are ignored).
type Seq struct {
	Mask      []float32
	Logp      []float64 // log π_θ(y_t) under the current parameters
	OldLogp   []float64 // behaviour log-probabilities recorded at rollout
	RefLogp   []float64 // reference model log-probabilities (nil without KL)
	Advantage []float64 // per token (a sequence-level advantage repeated, or GAE)
}

// LossStats summarise one batch.
type LossStats struct {
	Loss         float64 // the clipped surrogate plus β·KL, aggregated
	ClipFraction float64 // share of policy tokens whose ratio was clipped
	KL           float64 // mean per-token KL estimate
	Entropy      float64 // mean surprisal −log π(y_t) of the policy tokens, an estimate of the entropy
	Tokens       int     // policy tokens counted
}

// Weights returns, per sequence, the trainer weights w_t such that
// minimising Σ w_t·(−log π(y_t)) follows the gradient of the clipped
// objective (see the package doc), and the batch's statistics.
func Weights(seqs []Seq, cfg LossConfig) ([][]float32, LossStats, error) {
	var st LossStats
	coef, err := aggregationCoefs(seqs, cfg)
	if err != nil {
		return nil, st, err
	}
	out := make([][]float32, len(seqs))
	clipped := 0
	klSum := 0.0
	hBar, n := 0.0, 0 // the mean surprisal: the entropy bonus's baseline
	for i, s := range seqs {
		if err := s.check(cfg.KL != KLNone); err != nil {
			return nil, st, fmt.Errorf("sequence %d: %w", i, err)
		}
		for t, m := range s.Mask {
			if m != 0 {
				hBar -= s.Logp[t]
				n++
			}
		}
	}
	if n > 0 {
		hBar /= float64(n)
		st.Entropy = hBar
	}
	for i, s := range seqs {
		w := make([]float32, len(s.Mask))
		for t, m := range s.Mask {
			if m == 0 {
				continue
			}
			st.Tokens++
			c := coef[i] * float64(m)
			a := s.Advantage[t]
			ratio := math.Exp(s.Logp[t] - s.OldLogp[t])
			clip := math.Min(math.Max(ratio, 1-cfg.ClipLow), 1+cfg.ClipHigh)
			surr := math.Min(ratio*a, clip*a)
			st.Loss -= c * surr
			if ratio*a > clip*a { // the min picked the clipped, constant branch
				clipped++
			} else {
				w[t] = float32(c * a * ratio)
			}
			if cfg.KL != KLNone {
				d := s.RefLogp[t] - s.Logp[t] // log(π_ref/π)
				var kl, grad float64          // grad: d kl / d log π
				if cfg.KL == KLk1 {
					kl, grad = -d, 1
				} else {
					kl, grad = math.Exp(d)-d-1, 1-math.Exp(d)
				}
				st.Loss += cfg.KLCoef * c * kl
				klSum += kl
				w[t] -= float32(cfg.KLCoef * c * grad)
			}
			if cfg.Entropy != 0 {
				// ∇H = −E[(log π + 1)∇log π]: weighting −log π(y) by
				// β·(surprisal − mean) raises the entropy (the baseline
				// only lowers the variance).
				h := -s.Logp[t]
				st.Loss -= cfg.Entropy * c * h
				w[t] += float32(cfg.Entropy * c * (h - hBar))
			}
		}
		out[i] = w
	}
	if st.Tokens > 0 {
		st.ClipFraction = float64(clipped) / float64(st.Tokens)
		st.KL = klSum / float64(st.Tokens)
	}
	return out, st, nil
}

func (s Seq) check(needRef bool) error {
	n := len(s.Mask)
	if len(s.Logp) != n || len(s.OldLogp) != n || len(s.Advantage) != n || (needRef && len(s.RefLogp) != n) {
		return fmt.Errorf("lengths differ: mask %d, logp %d, old %d, ref %d, advantage %d", n, len(s.Logp), len(s.OldLogp), len(s.RefLogp), len(s.Advantage))
	}
	return nil
}

// aggregationCoefs gives each sequence's per-token coefficient c so that
// Σ_t c·term_t is the configured aggregation.
func aggregationCoefs(seqs []Seq, cfg LossConfig) ([]float64, error) {
	coef := make([]float64, len(seqs))
	lens := make([]int, len(seqs))
	total, longest, nonEmpty := 0, 0, 0
	for i, s := range seqs {
		for _, m := range s.Mask {
			if m != 0 {
				lens[i]++
			}
		}
		total += lens[i]
		longest = max(longest, lens[i])
		if lens[i] > 0 {
			nonEmpty++
		}
	}
	for i := range seqs {
		if lens[i] == 0 {
			continue
		}
		switch cfg.Aggregation {
		case TokenMean, "":
			coef[i] = 1 / float64(total)
		case SeqMean:
			coef[i] = 1 / float64(lens[i]*nonEmpty)
		case SeqSum:
			l := cfg.MaxLen
			if l <= 0 {
				l = longest
			}
			coef[i] = 1 / float64(l*nonEmpty)
		default:
			return nil, fmt.Errorf("unknown loss aggregation %q", cfg.Aggregation)
		}
	}
	return coef, nil
}
