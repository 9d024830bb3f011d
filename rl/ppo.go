package rl

import (
	"fmt"
	"math"
)

// ppoAdvantages fills each sequence's per-token advantages by GAE over the
// value head's estimates and fits the head to the returns. The timeline is
// the episode's policy tokens (environment tokens are not actions); the
// state before token t is the hidden state that predicts it (position
// t−1). The episode's reward arrives after its last policy token. The
// advantages are then normalised over the batch, as PPO does. It also sets
// each sequence's Logp from the same forward pass (exact for epoch 0).
func (l *Loop) ppoAdvantages(seqs []trainSeq, cfg Config) (float64, error) {
	gamma, lambda := cfg.Gamma, cfg.Lambda
	if gamma == 0 {
		gamma = 1
	}
	if lambda == 0 {
		lambda = 0.95
	}
	dim := l.Policy.Config.Dim
	if l.Value == nil {
		l.Value = NewValueHead(dim, cfg.ValueLR)
	}
	hidden, ok := l.Trainer.(interface{ Hidden() []float32 })
	if !ok {
		return 0, fmt.Errorf("ppo: the value head reads the policy's hidden states, which only the in-process engine exposes")
	}
	feats := make([][][]float32, len(seqs)) // per sequence, per policy token
	pos := make([][]int, len(seqs))
	for _, mb := range planBatches(seqs, microTokens(l.Trainer), l.Trainer.Settings().SeqLen) {
		if err := mb.logprobs(l.Trainer, seqs, func(s *Seq) *[]float64 { return &s.Logp }); err != nil {
			return 0, fmt.Errorf("ppo: %w", err)
		}
		hid := hidden.Hidden()
		for b, k := range mb.idx {
			for t, m := range seqs[k].seq.Mask {
				if m == 0 || t == 0 || t > mb.T {
					continue
				}
				row := (b*mb.T + t - 1) * dim
				feats[k] = append(feats[k], append([]float32(nil), hid[row:row+dim]...))
				pos[k] = append(pos[k], t)
			}
		}
	}
	var allF [][]float32
	var allR, allA []float64
	for k := range seqs {
		if len(pos[k]) == 0 {
			continue
		}
		vals := l.Value.Predict(feats[k])
		rw := turnRewards(seqs[k], pos[k])
		adv, ret, err := GAE(rw, vals, gamma, lambda)
		if err != nil {
			return 0, err
		}
		for i, t := range pos[k] {
			seqs[k].seq.Advantage[t] = adv[i]
		}
		allF = append(allF, feats[k]...)
		allR = append(allR, ret...)
		allA = append(allA, adv...)
	}
	// Normalise over the batch's policy tokens.
	m, sd := meanStd(allA, seqIndex(len(allA)))
	for k := range seqs {
		for _, t := range pos[k] {
			seqs[k].seq.Advantage[t] = (seqs[k].seq.Advantage[t] - m) / (sd + eps)
		}
	}
	steps := cfg.ValueSteps
	if steps <= 0 {
		steps = 50
	}
	loss, err := l.Value.Fit(allF, allR, steps)
	if err != nil || math.IsNaN(loss) {
		return loss, fmt.Errorf("ppo: value head: loss %v: %w", loss, err)
	}
	return loss, nil
}

// turnRewards lays an episode's reward out on its policy tokens (at
// positions pos): the part earned at turn k after that turn's last token,
// the rest after the episode's last.
func turnRewards(s trainSeq, pos []int) []float64 {
	rw := make([]float64, len(pos))
	rest := s.reward
	for i, t := range pos {
		k := s.turns[t]
		if k < 0 || k >= len(s.perTurn) || (i+1 < len(pos) && s.turns[pos[i+1]] == k) {
			continue
		}
		rw[i] += s.perTurn[k]
		rest -= s.perTurn[k]
	}
	rw[len(rw)-1] += rest
	return rw
}

func seqIndex(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
