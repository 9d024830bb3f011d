package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// Interval is a mean with a two-sided confidence interval.
type Interval struct {
	Mean float64 `json:"mean"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// Bootstrap configures percentile bootstrap intervals. The zero value uses
// 1000 resamples, a 95% interval and seed 1, so reports are reproducible.
type Bootstrap struct {
	Resamples int     // default 1000
	Level     float64 // default 0.95
	Seed      uint64  // default 1
}

func (b Bootstrap) withDefaults() Bootstrap {
	if b.Resamples <= 0 {
		b.Resamples = 1000
	}
	if b.Level <= 0 || b.Level >= 1 {
		b.Level = 0.95
	}
	if b.Seed == 0 {
		b.Seed = 1
	}
	return b
}

// Mean returns the mean of xs (0 for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Mean is the mean of xs with a percentile bootstrap interval over
// resamples of xs with replacement.
func (b Bootstrap) Mean(xs []float64) Interval {
	return b.resample(len(xs), Mean(xs), func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += xs[i]
		}
		return s / float64(len(idx))
	})
}

// Paired is the mean difference a−b of two runs scored on the same
// questions (a[i] and b[i] are one question), with a paired bootstrap
// interval: each resample draws questions, keeping the pairs together.
// PValue is the share of resampled differences at or below zero (one
// sided: how often a is not better than b).
type Paired struct {
	Diff   Interval `json:"diff"`
	PValue float64  `json:"p_value"`
}

// PairedDiff compares two runs over the same questions.
func (b Bootstrap) PairedDiff(a, c []float64) (Paired, error) {
	if len(a) != len(c) {
		return Paired{}, errors.New("paired bootstrap: runs score different numbers of questions")
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - c[i]
	}
	notBetter := 0
	iv := b.resample(len(d), Mean(d), func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += d[i]
		}
		m := s / float64(len(idx))
		if m <= 0 {
			notBetter++
		}
		return m
	})
	p := Paired{Diff: iv}
	if len(d) > 0 {
		p.PValue = float64(notBetter) / float64(b.withDefaults().Resamples)
	}
	return p, nil
}

// resample draws n indexes with replacement per resample and returns the
// percentile interval of stat around mean.
func (b Bootstrap) resample(n int, mean float64, stat func(idx []int) float64) Interval {
	if n == 0 {
		return Interval{}
	}
	b = b.withDefaults()
	rng := rand.New(rand.NewPCG(b.Seed, 0x5eed))
	stats := make([]float64, b.Resamples)
	idx := make([]int, n)
	for r := range stats {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		stats[r] = stat(idx)
	}
	slices.Sort(stats)
	alpha := (1 - b.Level) / 2
	return Interval{Mean: mean, Lo: Quantile(stats, alpha), Hi: Quantile(stats, 1-alpha)}
}

// Quantile is the q-quantile of sorted xs with linear interpolation between
// order statistics (NumPy's default): position q·(n−1).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(lo)
	return sorted[lo] + f*(sorted[lo+1]-sorted[lo])
}
