//go:build !purego

package kernels

import (
	"math"
	"testing"
)

// TestExpAVX2 sweeps the vector exp over its whole normal range: relative
// error within 2.5e-7 (about 2 ulp), like the scalar expf.
func TestExpAVX2(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2/FMA")
	}
	var xs []float32
	for x := float32(-87); x < 88; x += 0.0137 {
		xs = append(xs, x)
	}
	xs = xs[:len(xs)&^7]
	got := append([]float32(nil), xs...)
	expSubSumAVX2(&got[0], len(got), 0)
	for i, x := range xs {
		want := math.Exp(float64(x))
		if d := math.Abs(float64(got[i])-want) / want; d > 2.5e-7 {
			t.Fatalf("exp(%g) = %g, want %g (rel err %g)", x, got[i], want, d)
		}
	}
}
