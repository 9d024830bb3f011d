package rl

import (
	"fmt"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/model"
)

// SFTStep trains on episodes by supervised fine-tuning: cross-entropy on
// every token the policy (or, for multi-agent episodes, role) generated,
// averaged over those tokens, none on environment tokens; one optimizer
// step. It returns the mean loss per policy token.
func SFTStep(t *model.Trainer, eps []*agent.Episode, role string) (float64, error) {
	var seqs []trainSeq
	total := 0
	for _, ep := range eps {
		ids, mask, err := ep.Tokens(role)
		if err != nil {
			return 0, fmt.Errorf("sft: %w", err)
		}
		n := min(len(ids), t.Cfg.SeqLen+1)
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
	B, T := t.Cfg.Batch, t.Cfg.SeqLen
	loss := 0.0
	err := forEachBatch(seqs, B, T, func(lo int, toks, tgts []int) error {
		w := make([]float32, B*T)
		for b, s := range seqs[lo:min(lo+B, len(seqs))] {
			for i := 1; i < len(s.ids); i++ {
				w[b*T+i-1] = s.seq.Mask[i] / float32(total)
			}
		}
		l, err := t.ForwardBackward(toks, tgts, w)
		loss += l
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sft: %w", err)
	}
	t.Update()
	return loss, nil
}
