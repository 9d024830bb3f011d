package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var vecLens = []int{0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 127, 128, 129, 513, 1000}

func TestReductions(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for _, p := range impls() {
		for _, n := range vecLens {
			a, b := randSlice(r, n), randSlice(r, n)
			t.Run(fmt.Sprintf("%s/%d", p.name, n), func(t *testing.T) {
				var dot, dmag, sum, smag float64
				mx := math.Inf(-1)
				for i := range n {
					dot += float64(a[i]) * float64(b[i])
					dmag += math.Abs(float64(a[i]) * float64(b[i]))
					sum += float64(a[i])
					smag += math.Abs(float64(a[i]))
					mx = math.Max(mx, float64(a[i]))
				}
				if got := p.dot(a, b); !closeTo(got, dot, dmag) {
					t.Errorf("dot = %g, want %g", got, dot)
				}
				if got := p.sum(a); !closeTo(got, sum, smag) {
					t.Errorf("sum = %g, want %g", got, sum)
				}
				if got := p.max(a); float64(got) != mx {
					t.Errorf("max = %g, want %g", got, mx)
				}
			})
		}
	}
}

// elementwise checks a kernel against a float64 formula element by element.
func elementwise(t *testing.T, got []float32, want func(i int) float64, relTol float64) {
	t.Helper()
	for i := range got {
		w := want(i)
		if math.Abs(float64(got[i])-w) > relTol*math.Abs(w)+1e-6 {
			t.Fatalf("element %d: got %g, want %g", i, got[i], w)
		}
	}
}

func TestElementwise(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	const alpha, s = float32(0.37), float32(-1.5)
	for _, p := range impls() {
		for _, n := range vecLens {
			x, y := randSlice(r, n), randSlice(r, n)
			t.Run(fmt.Sprintf("%s/%d", p.name, n), func(t *testing.T) {
				got := append([]float32(nil), y...)
				p.axpy(alpha, x, got)
				elementwise(t, got, func(i int) float64 { return float64(y[i]) + float64(alpha)*float64(x[i]) }, 1e-6)
				got = append([]float32(nil), x...)
				p.scale(got, s)
				elementwise(t, got, func(i int) float64 { return float64(x[i]) * float64(s) }, 1e-7)
				got = append([]float32(nil), x...)
				p.add(got, got, y) // aliasing dst and a is allowed
				elementwise(t, got, func(i int) float64 { return float64(x[i]) + float64(y[i]) }, 1e-7)
				got = append([]float32(nil), y...)
				p.mul(got, x, got)
				elementwise(t, got, func(i int) float64 { return float64(x[i]) * float64(y[i]) }, 1e-7)
				got = make([]float32, n)
				p.siluMul(got, x, y)
				elementwise(t, got, func(i int) float64 {
					g := float64(x[i])
					return g / (1 + math.Exp(-g)) * float64(y[i])
				}, 1e-6)
				got = make([]float32, n)
				p.sigmoid(got, x)
				elementwise(t, got, func(i int) float64 { return 1 / (1 + math.Exp(-float64(x[i]))) }, 1e-6)
				// Gates far out in both tails, where exp saturates.
				wide := append([]float32(nil), x...)
				for i := range wide {
					wide[i] *= 60
				}
				got = make([]float32, n)
				p.sigmoid(got, wide)
				elementwise(t, got, func(i int) float64 { return 1 / (1 + math.Exp(-float64(wide[i]))) }, 1e-6)
				got = make([]float32, n)
				p.siluMul(got, wide, y)
				elementwise(t, got, func(i int) float64 {
					g := float64(wide[i])
					return g / (1 + math.Exp(-g)) * float64(y[i])
				}, 1e-6)
			})
		}
	}
}

func TestRMSNorm(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 12))
	const eps = 1e-5
	for _, p := range impls() {
		for _, n := range vecLens[1:] {
			x, w := randSlice(r, n), randSlice(r, n)
			t.Run(fmt.Sprintf("%s/%d", p.name, n), func(t *testing.T) {
				var ss float64
				for _, v := range x {
					ss += float64(v) * float64(v)
				}
				rstd := 1 / math.Sqrt(ss/float64(n)+eps)
				out := make([]float32, n)
				got := p.rmsNorm(out, x, w, eps)
				if math.Abs(float64(got)-rstd) > 1e-5*rstd {
					t.Errorf("rstd = %g, want %g", got, rstd)
				}
				elementwise(t, out, func(i int) float64 { return float64(x[i]) * rstd * float64(w[i]) }, 1e-5)
			})
		}
	}
}

func TestSoftmax(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 14))
	for _, p := range impls() {
		for _, n := range vecLens {
			x := randSlice(r, n)
			for i := range x {
				x[i] *= 30 // wide range, including values where naive exp overflows
			}
			if n > 0 {
				x[0] = 200
			}
			t.Run(fmt.Sprintf("%s/%d", p.name, n), func(t *testing.T) {
				mx := math.Inf(-1)
				for _, v := range x {
					mx = math.Max(mx, float64(v))
				}
				var s float64
				for _, v := range x {
					s += math.Exp(float64(v) - mx)
				}
				got := append([]float32(nil), x...)
				p.softmax(got)
				elementwise(t, got, func(i int) float64 { return math.Exp(float64(x[i])-mx) / s }, 1e-5)
			})
		}
	}
}

func TestExpf(t *testing.T) {
	t.Parallel()
	inf := float32(math.Inf(1))
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {1, float32(math.E)}, {-1, float32(1 / math.E)},
		{89, inf}, {-200, 0}, {float32(math.Inf(-1)), 0}, {inf, inf},
	} {
		t.Run(fmt.Sprint(tc.x), func(t *testing.T) {
			if got := expf(tc.x); got != tc.want {
				t.Errorf("expf(%g) = %g, want %g", tc.x, got, tc.want)
			}
		})
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %g, want NaN", got)
	}
	// Sweep the whole finite range: relative error within 2 ulp.
	for x := float32(-87); x < 88.7; x += 0.0137 {
		want := math.Exp(float64(x))
		if d := math.Abs(float64(expf(x))-want) / want; d > 2.5e-7 {
			t.Fatalf("expf(%g) = %g, want %g (rel err %g)", x, expf(x), want, d)
		}
	}
}

// TestElementwiseIgnoresLength: an element of SiLUMul or Sigmoid is the
// same bits whatever the length of the slice it is in. A ragged tail once
// went through the scalar expf, which rounds differently from the vector
// exp in about 1 case in 200, so a model's MLP activations (one call over
// all rows of a batch) depended on how many rows shared the batch.
func TestElementwiseIgnoresLength(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 16))
	const n = 4096
	gate, up := randSlice(r, n), randSlice(r, n)
	for i := range gate {
		gate[i] *= 4
	}
	for _, p := range impls() {
		t.Run(p.name, func(t *testing.T) {
			silu, sig := make([]float32, n), make([]float32, n)
			p.siluMul(silu, gate, up)
			p.sigmoid(sig, gate)
			gotSilu, gotSig := make([]float32, 8), make([]float32, 8)
			for lo := 0; lo < n; lo += 8 {
				for l := 1; l < 8; l++ { // every element as part of a ragged tail
					p.siluMul(gotSilu[:l], gate[lo:lo+l], up[lo:lo+l])
					p.sigmoid(gotSig[:l], gate[lo:lo+l])
					for i := range l {
						if math.Float32bits(gotSilu[i]) != math.Float32bits(silu[lo+i]) {
							t.Fatalf("siluMul(%g, %g) = %g in a slice of %d, %g in one of %d", gate[lo+i], up[lo+i], gotSilu[i], l, silu[lo+i], n)
						}
						if math.Float32bits(gotSig[i]) != math.Float32bits(sig[lo+i]) {
							t.Fatalf("sigmoid(%g) = %g in a slice of %d, %g in one of %d", gate[lo+i], gotSig[i], l, sig[lo+i], n)
						}
					}
				}
			}
		})
	}
}
