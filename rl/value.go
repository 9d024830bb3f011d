package rl

import (
	"fmt"
	"math"
)

// ValueHead is PPO's critic: a linear function of the policy's final hidden
// state, V(s_t) = w·h_t + b. It reads the trunk's features but does not
// train them (its gradient stops at h), so the policy's update is the
// clipped objective alone, and the head is cheap enough to fit for many
// steps on each batch. AdamW moments are part of it so a resumed run fits
// exactly as an uninterrupted one.
type ValueHead struct {
	W    []float64 `json:"w"`
	B    float64   `json:"b"`
	LR   float64   `json:"lr"`
	M    []float64 `json:"m"` // Adam moments of W then B
	V    []float64 `json:"v"`
	Step int       `json:"step"`
}

// NewValueHead is a zero head (it predicts 0 until fitted) over dim
// features.
func NewValueHead(dim int, lr float64) *ValueHead {
	if lr <= 0 {
		lr = 1e-2
	}
	return &ValueHead{W: make([]float64, dim), LR: lr, M: make([]float64, dim+1), V: make([]float64, dim+1)}
}

// Predict returns the value of each feature row.
func (v *ValueHead) Predict(rows [][]float32) []float64 {
	out := make([]float64, len(rows))
	for i, h := range rows {
		s := v.B
		for j, x := range h {
			s += v.W[j] * float64(x)
		}
		out[i] = s
	}
	return out
}

// Fit takes steps full-batch Adam steps on the mean squared error between
// Predict(rows) and targets and returns the final loss (½·MSE).
func (v *ValueHead) Fit(rows [][]float32, targets []float64, steps int) (float64, error) {
	if len(rows) != len(targets) {
		return 0, fmt.Errorf("value head: %d rows but %d targets", len(rows), len(targets))
	}
	if len(rows) == 0 {
		return 0, nil
	}
	dim := len(v.W)
	for i, h := range rows {
		if len(h) != dim {
			return 0, fmt.Errorf("value head: row %d has %d features, want %d", i, len(h), dim)
		}
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	g := make([]float64, dim+1)
	loss := 0.0
	for range steps {
		clear(g)
		loss = 0
		pred := v.Predict(rows)
		n := float64(len(rows))
		for i, h := range rows {
			d := (pred[i] - targets[i]) / n
			loss += 0.5 * (pred[i] - targets[i]) * (pred[i] - targets[i]) / n
			for j, x := range h {
				g[j] += d * float64(x)
			}
			g[dim] += d
		}
		v.Step++
		bc1, bc2 := 1-math.Pow(b1, float64(v.Step)), 1-math.Pow(b2, float64(v.Step))
		for j := range g {
			v.M[j] = b1*v.M[j] + (1-b1)*g[j]
			v.V[j] = b2*v.V[j] + (1-b2)*g[j]*g[j]
			step := v.LR * (v.M[j] / bc1) / (math.Sqrt(v.V[j]/bc2) + eps)
			if j < dim {
				v.W[j] -= step
			} else {
				v.B -= step
			}
		}
	}
	return loss, nil
}
