package rl

import (
	"cmp"
	"slices"
)

// microBatch is a group of sequences laid out as one (B,T) trainer call:
// inputs ids[:T], targets ids[1:T+1], padding ignored (target −1).
type microBatch struct {
	idx        []int // positions in the sequence slice, row b holds idx[b]
	B, T       int
	toks, tgts []int
}

// shapeAlign rounds a micro-batch's length up, so that a run meets few
// distinct shapes (each keeps its own activation buffers).
const shapeAlign = 64

// planBatches groups sequences of similar length (longest first) into
// micro-batches of at most maxTokens B·T positions, none longer than maxT:
// padding every episode to the model's context would spend most of the
// attention on nothing. The plan depends only on the lengths, so it is the
// same on every run.
func planBatches(seqs []trainSeq, maxTokens, maxT int) []microBatch {
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(seqs[b].ids), len(seqs[a].ids)) })
	var out []microBatch
	for lo := 0; lo < len(order); {
		T := min(maxT, (len(seqs[order[lo]].ids)-1+shapeAlign-1)/shapeAlign*shapeAlign)
		T = max(T, 1)
		B := max(1, min(maxTokens/T, len(order)-lo))
		mb := microBatch{idx: order[lo : lo+B], B: B, T: T, toks: make([]int, B*T), tgts: make([]int, B*T)}
		for i := range mb.tgts {
			mb.tgts[i] = -1
		}
		for b, k := range mb.idx {
			ids := seqs[k].ids
			for t := 0; t+1 < len(ids) && t < T; t++ {
				mb.toks[b*T+t] = ids[t]
				mb.tgts[b*T+t] = ids[t+1]
			}
		}
		out = append(out, mb)
		lo += B
	}
	return out
}

// weights lays per-token weights (aligned with each sequence's ids, token
// t predicted by target t−1) out as the micro-batch's target weights.
func (mb microBatch) weights(ws [][]float32) []float32 {
	w := make([]float32, mb.B*mb.T)
	for b, k := range mb.idx {
		s := ws[k]
		for t := 1; t < len(s) && t <= mb.T; t++ {
			w[b*mb.T+t-1] = s[t]
		}
	}
	return w
}

// logprobs runs the forward pass of mb on tr and stores each sequence's
// per-token log-probabilities (token t ← target t−1) where pick says.
func (mb microBatch) logprobs(tr Learner, seqs []trainSeq, pick func(*Seq) *[]float64) error {
	if err := tr.SetShape(mb.B, mb.T); err != nil {
		return err
	}
	if _, err := tr.Loss(mb.toks, mb.tgts, nil); err != nil {
		return err
	}
	logp := tr.TokenLogprobs()
	for b, k := range mb.idx {
		s := &seqs[k]
		out := make([]float64, len(s.ids))
		for t := 1; t < len(s.ids) && t <= mb.T; t++ {
			out[t] = float64(logp[b*mb.T+t-1])
		}
		*pick(&s.seq) = out
	}
	return nil
}

// forwardBackward adds the gradients of Σ w·(−log p) over mb to tr.
func (mb microBatch) forwardBackward(tr Learner, ws [][]float32) (float64, error) {
	if err := tr.SetShape(mb.B, mb.T); err != nil {
		return 0, err
	}
	return tr.ForwardBackward(mb.toks, mb.tgts, mb.weights(ws))
}

// microTokens is the B·T budget of one micro-batch: enough rows for the
// matrix products to run at speed, little enough that the attention
// activations (B·heads·T² a layer) stay small; at least one full-length
// sequence.
func microTokens(tr Learner) int {
	return max(4096, tr.Settings().SeqLen)
}
