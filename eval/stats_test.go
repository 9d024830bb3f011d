package eval

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	tests := []struct{ q, want float64 }{{0, 1}, {0.25, 2}, {0.5, 3}, {0.1, 1.4}, {0.975, 4.9}, {1, 5}}
	for _, tt := range tests {
		if got := Quantile(xs, tt.q); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
}

func TestBootstrap(t *testing.T) {
	b := Bootstrap{Resamples: 2000, Seed: 7}
	if got := b.Mean([]float64{0.5, 0.5, 0.5}); got != (Interval{0.5, 0.5, 0.5}) {
		t.Errorf("constant data: %+v", got)
	}
	if got := b.Mean(nil); got != (Interval{}) {
		t.Errorf("no data: %+v", got)
	}
	xs := make([]float64, 400)
	for i := range xs {
		if i%4 == 0 {
			xs[i] = 1
		}
	}
	iv := b.Mean(xs)
	// Mean 0.25; normal-approximation 95% half-width 1.96·sqrt(.25·.75/400) ≈ 0.0424.
	if iv.Mean != 0.25 || math.Abs((iv.Hi-iv.Lo)/2-0.0424) > 0.006 || iv.Lo > 0.25 || iv.Hi < 0.25 {
		t.Errorf("interval %+v", iv)
	}
	if again := b.Mean(xs); again != iv {
		t.Errorf("same seed, different interval: %+v vs %+v", again, iv)
	}
}

func TestPairedDiff(t *testing.T) {
	b := Bootstrap{Seed: 3}
	a := []float64{1, 1, 1, 0, 1, 1, 0, 1, 1, 1}
	c := []float64{0, 1, 0, 0, 1, 0, 0, 1, 0, 1}
	p, err := b.PairedDiff(a, c)
	if err != nil {
		t.Fatal(err)
	}
	// Differences 1,0,1,0,0,1,0,0,1,0: mean 0.4, never negative, so every
	// resample is ≥ 0 and only all-zero draws (probability 0.6^10 ≈ 0.006)
	// count as "not better".
	if p.Diff.Mean != 0.4 || p.Diff.Lo < 0 || p.Diff.Hi > 1 || p.PValue > 0.03 {
		t.Errorf("paired %+v", p)
	}
	same, _ := b.PairedDiff(a, a)
	if same.Diff != (Interval{}) || same.PValue != 1 {
		t.Errorf("identical runs: %+v", same)
	}
	if _, err := b.PairedDiff(a, c[:3]); err == nil {
		t.Error("unequal lengths accepted")
	}
}
