package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tolerance: every result is compared with a float64 reference and must be
// within tol·Σ|terms| (plus a tiny absolute floor). float32 sums of K terms
// drift by ~K·2⁻²⁴ of that magnitude in the worst case; tol covers K ≤ 513
// with room, while any indexing mistake is off by O(1).
const tol = 1e-5

// impls returns the implementations to test on this CPU: always the
// portable one, and the SIMD one where the CPU has it.
func impls() []impl {
	if haveSIMD {
		return []impl{generic, simd}
	}
	return []impl{generic}
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// close reports whether got is within tol of want given the magnitude mag
// of the terms that were summed.
func closeTo(got float32, want, mag float64) bool {
	return math.Abs(float64(got)-want) <= tol*mag+1e-6
}

// matMulNaive is the algorithmic reference: out(M,N) = op(a)·op(b) [+ out]
// in float64, where ta/tb say whether a is given as (K,M) and b as (N,K).
// It also returns the magnitude Σ|aᵢbᵢ| + |out| of each result.
func matMulNaive(out, a, b []float32, m, k, n int, ta, tb, acc bool) ([]float64, []float64) {
	want := make([]float64, m*n)
	mag := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, g float64
			if acc {
				s, g = float64(out[i*n+j]), math.Abs(float64(out[i*n+j]))
			}
			for p := range k {
				av := a[i*k+p]
				if ta {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if tb {
					bv = b[j*k+p]
				}
				t := float64(av) * float64(bv)
				s += t
				g += math.Abs(t)
			}
			want[i*n+j], mag[i*n+j] = s, g
		}
	}
	return want, mag
}

var sizes = []int{1, 3, 17, 127, 128, 129, 513}

// shapes returns (m, k, n) triples mixing the odd sizes, kept small
// enough for the naive reference to run quickly.
func shapes() [][3]int {
	var s [][3]int
	for _, m := range sizes {
		for _, k := range sizes {
			for _, n := range sizes {
				if m*k*n <= 1<<22 {
					s = append(s, [3]int{m, k, n})
				}
			}
		}
	}
	// Panels exactly 8 wide (the 6×8 kernel), K beyond one 256 block.
	return append(s, [3]int{2048, 128, 352}, [3]int{7, 1000, 33}, [3]int{13, 33, 8}, [3]int{64, 300, 24}, [3]int{5, 2, 8})
}

func compare(t *testing.T, got []float32, want, mag []float64) {
	t.Helper()
	for i := range want {
		if !closeTo(got[i], want[i], mag[i]) {
			t.Fatalf("element %d: got %g, want %g (magnitude %g)", i, got[i], want[i], mag[i])
		}
	}
}

type mmCase struct {
	name   string
	ta, tb bool
	// run computes the product with the given implementation.
	run func(p impl, out, a, b []float32, m, k, n int, acc bool)
}

var mmCases = []mmCase{
	{"T", false, true, func(p impl, out, a, b []float32, m, k, n int, acc bool) {
		p.matMulT(mat{out, n}, mat{a, k}, mat{b, k}, m, k, n, acc)
	}},
	{"NN", false, false, func(p impl, out, a, b []float32, m, k, n int, acc bool) {
		p.matMulNN(mat{out, n}, mat{a, k}, mat{b, n}, m, k, n, acc)
	}},
	{"TN", true, false, func(p impl, out, a, b []float32, m, k, n int, _ bool) {
		p.matMulTN(mat{out, n}, mat{a, m}, mat{b, n}, m, k, n)
	}},
}

func TestMatMul(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range mmCases {
		t.Run(c.name, func(t *testing.T) {
			for _, s := range shapes() {
				m, k, n := s[0], s[1], s[2]
				a, b := randSlice(r, m*k), randSlice(r, k*n)
				for _, acc := range []bool{false, true} {
					if c.name == "TN" && !acc {
						continue // TN always accumulates
					}
					init := randSlice(r, m*n)
					want, mag := matMulNaive(init, a, b, m, k, n, c.ta, c.tb, acc)
					for _, p := range impls() {
						t.Run(fmt.Sprintf("%s/%dx%dx%d/acc=%v", p.name, m, k, n, acc), func(t *testing.T) {
							out := append([]float32(nil), init...)
							c.run(p, out, a, b, m, k, n, acc)
							compare(t, out, want, mag)
						})
					}
				}
			}
		})
	}
}

func TestKernelsParallel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range []Config{{Workers: 3}, {Workers: 2, Generic: true}, {Workers: 1}} {
		k := NewConfig(cfg)
		defer k.Close()
		for _, s := range [][3]int{{2048, 128, 128}, {3, 128, 1000}, {130, 129, 131}, {4100, 130, 20}, {5, 7, 3}} {
			m, kk, n := s[0], s[1], s[2]
			a, b := randSlice(r, m*kk), randSlice(r, kk*n)
			name := fmt.Sprintf("workers=%d/generic=%v/%dx%dx%d", cfg.Workers, cfg.Generic, m, kk, n)
			t.Run(name+"/T", func(t *testing.T) {
				out := randSlice(r, m*n)
				want, mag := matMulNaive(out, a, b, m, kk, n, false, true, true)
				k.MatMulT(out, a, b, m, kk, n, true)
				compare(t, out, want, mag)
			})
			t.Run(name+"/NN", func(t *testing.T) {
				out := randSlice(r, m*n)
				want, mag := matMulNaive(out, a, b, m, kk, n, false, false, false)
				k.MatMulNN(out, a, b, m, kk, n, false)
				compare(t, out, want, mag)
			})
			t.Run(name+"/TN", func(t *testing.T) {
				out := randSlice(r, m*n)
				want, mag := matMulNaive(out, a, b, m, kk, n, true, false, true)
				k.MatMulTN(out, a, b, m, kk, n)
				compare(t, out, want, mag)
			})
			t.Run(name+"/Vec", func(t *testing.T) {
				out := make([]float32, m)
				want, mag := matMulNaive(make([]float32, m), a, b[:kk], m, kk, 1, false, true, false)
				k.MatVecT(out, a, b, m, kk)
				compare(t, out, want, mag)
			})
		}
	}
}

func TestMatVecT(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range impls() {
		for _, n := range sizes {
			for _, k := range sizes {
				t.Run(fmt.Sprintf("%s/%dx%d", p.name, n, k), func(t *testing.T) {
					w, x := randSlice(r, n*k), randSlice(r, k)
					out := make([]float32, n)
					want, mag := matMulNaive(make([]float32, n), w, x, n, k, 1, false, true, false)
					p.matVecT(out, w, x, n, k)
					compare(t, out, want, mag)
				})
			}
		}
	}
}

// TestKernelsConcurrent calls one Kernels from several goroutines: one gets
// the workers, the others run on their own goroutines, all must be right.
func TestKernelsConcurrent(t *testing.T) {
	t.Parallel()
	k := New(2)
	defer k.Close()
	const m, kk, n = 300, 64, 200
	r := rand.New(rand.NewPCG(15, 16))
	a, b := randSlice(r, m*kk), randSlice(r, kk*n)
	want, mag := matMulNaive(make([]float32, m*n), a, b, m, kk, n, false, true, false)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			out := make([]float32, m*n)
			for range 5 {
				k.MatMulT(out, a, b, m, kk, n, false)
				for i := range want {
					if !closeTo(out[i], want[i], mag[i]) {
						errs <- fmt.Errorf("element %d: got %g, want %g", i, out[i], want[i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	k.Close()
	out := make([]float32, m*n)
	k.MatMulT(out, a, b, m, kk, n, false) // after Close: single-threaded
	compare(t, out, want, mag)
}
