package atropos

import (
	"errors"
	"fmt"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rollout"
)

// ErrNoTokenIDs says an episode holds text without token ids: its backend
// returned none, or sleuth had no tokenizer for the environment's text.
var ErrNoTokenIDs = errors.New("atropos: the episode has text without token ids (serve the policy with token ids and give sleuth its tokenizer)")

// Group builds one scored group from episodes of the same question: for
// each, role's token stream exactly as the episode holds it (the policy's
// ids as the server returned them, the environment's as the policy's
// tokenizer encoded them), masks with the token id at every policy
// position and Masked elsewhere, the total reward as the score, and the
// policy's logprobs where every policy segment of the group has them
// (otherwise InferenceLogprobs is nil, which Atropos accepts).
//
// It fails when an episode lacks token ids (a text-only backend) or holds
// no policy token: such a group would teach the trainer nothing true.
func Group(eps []rollout.Scored, role string) (ScoredData, error) {
	if len(eps) == 0 {
		return ScoredData{}, errors.New("atropos: empty group")
	}
	d := ScoredData{
		Tokens:            make([][]int, len(eps)),
		Masks:             make([][]int, len(eps)),
		Scores:            make([]float64, len(eps)),
		InferenceLogprobs: make([][]float64, len(eps)),
	}
	withLogprobs := true
	for i, s := range eps {
		ids, mask, err := s.Episode.Tokens(role)
		if err != nil {
			return ScoredData{}, fmt.Errorf("%w: %v", ErrNoTokenIDs, err)
		}
		masks := make([]int, len(ids))
		policy := 0
		for j, m := range mask {
			if m > 0 {
				masks[j] = ids[j]
				policy++
			} else {
				masks[j] = Masked
			}
		}
		if policy == 0 {
			return ScoredData{}, fmt.Errorf("atropos: episode %s has no policy tokens (%s: %s)", s.Episode.ID, s.Episode.Status, s.Episode.Reason)
		}
		lp, ok := logprobs(s.Episode, role, len(ids))
		withLogprobs = withLogprobs && ok
		d.Tokens[i], d.Masks[i], d.Scores[i], d.InferenceLogprobs[i] = ids, masks, s.Score.Total, lp
	}
	if !withLogprobs {
		d.InferenceLogprobs = nil
	}
	return d, nil
}

// logprobs lays role's behaviour logprobs along its n tokens, MaskedLogprob
// at environment positions; ok is false when a policy segment has none.
func logprobs(ep *agent.Episode, role string, n int) (lp []float64, ok bool) {
	lp = make([]float64, 0, n)
	for _, s := range ep.Context {
		if s.Role != role {
			continue
		}
		if s.Source == agent.Policy {
			if len(s.Logprobs) != len(s.TokenIDs) {
				return nil, false
			}
			lp = append(lp, s.Logprobs...)
			continue
		}
		for range s.TokenIDs {
			lp = append(lp, MaskedLogprob)
		}
	}
	return lp, len(lp) == n
}
