package rl

import "github.com/sleuth-research/sleuth/model"

// Learner is the engine every training step drives: it holds the
// weights and the optimiser, takes (B,T) micro-batches of token ids with
// per-token weights, and steps. *model.Trainer is the in-process one;
// tinker.Client drives one behind the Tinker API. Every loss sleuth
// trains (SFT, language modelling, RL's clipped objective reduced by
// Weights) is the weighted cross-entropy ForwardBackward computes, so
// nothing else crosses the seam. Implementations are not safe for
// concurrent use.
type Learner interface {
	// SetShape makes the following micro-batches (B,T).
	SetShape(B, T int) error
	// ForwardBackward adds the gradients of Σ_i weights[i]·(−log
	// p(targets[i] | tokens[..i])) over row-major (B,T) slices (targets < 0
	// ignored; nil weights: the mean) and returns that sum.
	ForwardBackward(tokens, targets []int, weights []float32) (float64, error)
	// Loss is ForwardBackward's forward pass alone; TokenLogprobs then
	// holds log p(target) per token, valid until the next call.
	Loss(tokens, targets []int, weights []float32) (float64, error)
	TokenLogprobs() []float32
	// OptimStep takes one AdamW step on the accumulated gradients at the
	// schedule's learning rate and zeroes them.
	OptimStep() (model.UpdateStats, error)
	// Settings is the configuration the following steps use (shape
	// limits, schedule, AdamW's constants); the schedule may be changed
	// between steps.
	Settings() *model.TrainConfig
}

var _ Learner = (*model.Trainer)(nil)
