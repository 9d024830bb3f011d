// Package rl trains research agents with reinforcement learning: it turns
// groups of scored episodes into advantages (GRPO, Dr. GRPO, RLOO,
// REINFORCE++, PPO with GAE), advantages and log-probabilities into
// per-token loss weights for the clipped policy objective with an optional
// KL penalty, and runs the rollout–score–update loop on the in-process
// engine.
//
// The engine's trainer minimises Σ w_t·(−log p(y_t)). Every objective here
// is expressed as such weights: for a token whose clipped ratio is active,
// the gradient of −min(ρA, clip(ρ)A) is −Aρ∇log p, so w_t = c_t·A_t·ρ_t;
// a clipped token gets w_t = 0; the k3 KL estimator adds
// w_t −= β·c_t·(1 − π_ref/π). Loss masks come from the episode's segment
// tags: environment tokens have c_t = 0 and never carry weight.
package rl

import (
	"fmt"
	"math"
)

// Estimator names an advantage estimator.
type Estimator string

const (
	GRPO      Estimator = "grpo"        // (r − mean_group) / (std_group + ε)
	DrGRPO    Estimator = "dr_grpo"     // r − mean_group: no std normalisation (Liu et al., 2025)
	RLOO      Estimator = "rloo"        // r − mean of the other samples of the group
	Reinforce Estimator = "reinforce++" // r − mean_batch, normalised by the batch std (Hu, 2025)
	PPO       Estimator = "ppo"         // GAE over a value head's estimates (Loop only; not group-based)
)

// ParseEstimator checks a configured name.
func ParseEstimator(s string) (Estimator, error) {
	switch e := Estimator(s); e {
	case GRPO, DrGRPO, RLOO, Reinforce, PPO:
		return e, nil
	}
	return "", fmt.Errorf("unknown advantage estimator %q (grpo, dr_grpo, rloo, reinforce++, ppo)", s)
}

const eps = 1e-6

// Advantages returns one advantage per episode. groups[i] lists the
// indices into rewards of group i (the samples of one question); every
// index appears in exactly one group.
func Advantages(e Estimator, rewards []float64, groups [][]int) ([]float64, error) {
	adv := make([]float64, len(rewards))
	seen := make([]bool, len(rewards))
	for gi, g := range groups {
		for _, i := range g {
			if i < 0 || i >= len(rewards) || seen[i] {
				return nil, fmt.Errorf("advantages: group %d: index %d out of range or repeated", gi, i)
			}
			seen[i] = true
		}
	}
	for i, s := range seen {
		if !s {
			return nil, fmt.Errorf("advantages: reward %d is in no group", i)
		}
	}
	switch e {
	case GRPO, DrGRPO:
		for _, g := range groups {
			m, sd := meanStd(rewards, g)
			for _, i := range g {
				adv[i] = rewards[i] - m
				if e == GRPO {
					adv[i] /= sd + eps
				}
			}
		}
	case RLOO:
		for _, g := range groups {
			if len(g) < 2 {
				continue // no other sample to compare with: advantage 0
			}
			sum := 0.0
			for _, i := range g {
				sum += rewards[i]
			}
			for _, i := range g {
				adv[i] = rewards[i] - (sum-rewards[i])/float64(len(g)-1)
			}
		}
	case Reinforce:
		all := make([]int, len(rewards))
		for i := range all {
			all[i] = i
		}
		m, sd := meanStd(rewards, all)
		for i, r := range rewards {
			adv[i] = (r - m) / (sd + eps)
		}
	default:
		return nil, fmt.Errorf("advantages: unknown estimator %q", e)
	}
	return adv, nil
}

// TurnAdvantages is Advantages for episodes whose reward arrives partly
// turn by turn (IM-RAG's progress reward): adv[i][k] is the advantage of
// the tokens of episode i's turn k. totals[i] is the episode's whole
// reward, perTurn[i][k] the part of it earned at turn k. A turn is credited
// with what was earned from it on, G[i][k] = totals[i] − Σ_{j<k}
// perTurn[i][j] (an episode that ended before turn k keeps what its last
// turn was credited with, the reward not earned turn by turn), and the
// estimator compares G[·][k] across the group as it compares totals: the
// turn that found the second hop's passage is credited, the turns before
// it are not credited again for what they had already found. Without
// per-turn rewards every turn gets Advantages(totals).
func TurnAdvantages(e Estimator, totals []float64, perTurn [][]float64, groups [][]int) ([][]float64, error) {
	if len(perTurn) != len(totals) {
		return nil, fmt.Errorf("turn advantages: %d episodes of turn rewards for %d totals", len(perTurn), len(totals))
	}
	turns := 0
	out := make([][]float64, len(totals))
	for i, p := range perTurn {
		out[i] = make([]float64, len(p))
		turns = max(turns, len(p))
	}
	earned := make([]float64, len(totals))
	g := make([]float64, len(totals))
	for k := range max(turns, 1) {
		for i := range totals {
			g[i] = totals[i] - earned[i]
		}
		adv, err := Advantages(e, g, groups)
		if err != nil {
			return nil, err
		}
		for i, p := range perTurn {
			if k < len(p) {
				out[i][k] = adv[i]
				earned[i] += p[k]
			}
		}
	}
	return out, nil
}

// meanStd is the mean and population standard deviation of rewards[idx].
func meanStd(rewards []float64, idx []int) (float64, float64) {
	if len(idx) == 0 {
		return 0, 0
	}
	m := 0.0
	for _, i := range idx {
		m += rewards[i]
	}
	m /= float64(len(idx))
	v := 0.0
	for _, i := range idx {
		d := rewards[i] - m
		v += d * d
	}
	return m, math.Sqrt(v / float64(len(idx)))
}

// GAE computes PPO's generalised advantage estimates over one sequence of
// policy tokens: rewards[t] is the reward after token t (usually zero but
// at the end, minus any per-token KL), values[t] the value head's estimate
// at t. It returns advantages and returns (advantage + value).
func GAE(rewards, values []float64, gamma, lambda float64) (adv, ret []float64, err error) {
	if len(rewards) != len(values) {
		return nil, nil, fmt.Errorf("gae: %d rewards but %d values", len(rewards), len(values))
	}
	n := len(rewards)
	adv, ret = make([]float64, n), make([]float64, n)
	next, last := 0.0, 0.0
	for t := n - 1; t >= 0; t-- {
		delta := rewards[t] + gamma*next - values[t]
		last = delta + gamma*lambda*last
		adv[t] = last
		ret[t] = last + values[t]
		next = values[t]
	}
	return adv, ret, nil
}
