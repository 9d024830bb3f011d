package rl

import (
	"fmt"

	"github.com/sleuth-research/sleuth/agent"
)

// SFTStep trains on episodes by supervised fine-tuning: cross-entropy on
// every token the policy (or, for multi-agent episodes, role) generated,
// averaged over those tokens, none on environment tokens; one optimizer
// step. It returns the mean loss per policy token.
func SFTStep(t Learner, eps []*agent.Episode, role string) (float64, error) {
	return SFTMixStep(t, eps, role, nil)
}

// SFTMixStep is SFTStep with documents trained on in the same optimizer
// step by plain language modelling (every token predicted), such as the
// reading drills that keep what pre-training taught while SFT teaches the
// protocol. The episodes' mean loss and the documents' are added, each
// averaged over its own tokens, so neither drowns the other; the loss
// returned is that sum.
func SFTMixStep(t Learner, eps []*agent.Episode, role string, docs [][]int) (float64, error) {
	var seqs []trainSeq
	total := 0
	for _, ep := range eps {
		ids, mask, err := ep.Tokens(role)
		if err != nil {
			return 0, fmt.Errorf("sft: %w", err)
		}
		n := min(len(ids), t.Settings().SeqLen+1)
		if n < 2 {
			continue
		}
		s := trainSeq{ids: ids[:n], seq: Seq{Mask: mask[:n]}}
		s.seq.Mask[0] = 0
		for _, m := range s.seq.Mask {
			total += int(m)
		}
		seqs = append(seqs, s)
	}
	if total == 0 {
		return 0, fmt.Errorf("sft: no policy tokens in %d episodes", len(eps))
	}
	ws := make([][]float32, len(seqs))
	for i, s := range seqs {
		ws[i] = make([]float32, len(s.ids))
		for k, m := range s.seq.Mask {
			ws[i][k] = m / float32(total)
		}
	}
	docTotal := 0
	for _, d := range docs {
		docTotal += max(0, min(len(d), t.Settings().SeqLen+1)-1)
	}
	for _, d := range docs {
		n := min(len(d), t.Settings().SeqLen+1)
		if n < 2 {
			continue
		}
		w := make([]float32, n)
		for k := 1; k < n; k++ {
			w[k] = 1 / float32(docTotal)
		}
		seqs, ws = append(seqs, trainSeq{ids: d[:n]}), append(ws, w)
	}
	loss := 0.0
	for _, mb := range planBatches(seqs, microTokens(t), t.Settings().SeqLen) {
		l, err := mb.forwardBackward(t, ws)
		if err != nil {
			return 0, fmt.Errorf("sft: %w", err)
		}
		loss += l
	}
	if _, err := t.OptimStep(); err != nil {
		return 0, err
	}
	return loss, nil
}

// LMStep is one optimizer step of plain language modelling on token
// sequences (every token predicted from those before it): the pre-training
// that gives a policy trained from scratch its words and the habit of
// copying names it has seen, before SFT teaches it a protocol. It returns
// the mean loss per predicted token.
func LMStep(t Learner, docs [][]int) (float64, error) {
	var seqs []trainSeq
	total := 0
	for _, d := range docs {
		n := min(len(d), t.Settings().SeqLen+1)
		if n < 2 {
			continue
		}
		seqs = append(seqs, trainSeq{ids: d[:n]})
		total += n - 1
	}
	if total == 0 {
		return 0, fmt.Errorf("lm: no tokens to predict in %d documents", len(docs))
	}
	ws := make([][]float32, len(seqs))
	for i, s := range seqs {
		ws[i] = make([]float32, len(s.ids))
		for k := 1; k < len(s.ids); k++ {
			ws[i][k] = 1 / float32(total)
		}
	}
	loss := 0.0
	for _, mb := range planBatches(seqs, microTokens(t), t.Settings().SeqLen) {
		l, err := mb.forwardBackward(t, ws)
		if err != nil {
			return 0, fmt.Errorf("lm: %w", err)
		}
		loss += l
	}
	if _, err := t.OptimStep(); err != nil {
		return 0, err
	}
	return loss, nil
}

// EvalLoss is the mean −log p of the tokens whose weight in masks is not
// zero (masks[i][k] for token k of docs[i]), by forward passes alone: a
// probe that leaves the trainer's weights and gradients as they were.
func EvalLoss(t Learner, docs [][]int, masks [][]float32) (float64, error) {
	var seqs []trainSeq
	var ws [][]float32
	n := 0
	for i, d := range docs {
		m := min(len(d), t.Settings().SeqLen+1, len(masks[i]))
		if m < 2 {
			continue
		}
		w := make([]float32, m)
		for k := 1; k < m; k++ {
			if masks[i][k] != 0 {
				w[k] = 1
				n++
			}
		}
		seqs, ws = append(seqs, trainSeq{ids: d[:m]}), append(ws, w)
	}
	if n == 0 {
		return 0, fmt.Errorf("eval loss: no masked tokens in %d documents", len(docs))
	}
	loss := 0.0
	for _, mb := range planBatches(seqs, microTokens(t), t.Settings().SeqLen) {
		if err := t.SetShape(mb.B, mb.T); err != nil {
			return 0, err
		}
		l, err := t.Loss(mb.toks, mb.tgts, mb.weights(ws))
		if err != nil {
			return 0, fmt.Errorf("eval loss: %w", err)
		}
		loss += l
	}
	return loss / float64(n), nil
}
