package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExported checks that the exported functions route to the fastest
// implementation (bit-identical to calling it directly) and slice their
// arguments to the stated lengths.
func TestExported(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 18))
	const m, k, n = 9, 20, 19
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	tests := []struct {
		name      string
		got, want func() []float32
	}{
		{"MatMulT", func() []float32 {
			out := make([]float32, m*n)
			MatMulT(out, a, b, m, k, n, false)
			return out
		}, func() []float32 {
			out := make([]float32, m*n)
			best.matMulT(mat{out, n}, mat{a, k}, mat{b, k}, m, k, n, false)
			return out
		}},
		{"MatMulNN", func() []float32 {
			out := make([]float32, m*n)
			MatMulNN(out, a, b, m, k, n, false)
			return out
		}, func() []float32 {
			out := make([]float32, m*n)
			best.matMulNN(mat{out, n}, mat{a, k}, mat{b, n}, m, k, n, false)
			return out
		}},
		{"MatMulTN", func() []float32 {
			out := make([]float32, m*n)
			MatMulTN(out, a, b, m, k, n)
			return out
		}, func() []float32 {
			out := make([]float32, m*n)
			best.matMulTN(mat{out, n}, mat{a, m}, mat{b, n}, m, k, n)
			return out
		}},
		{"MatVecT", func() []float32 {
			out := make([]float32, m+3) // longer than n: only out[:m] is written
			MatVecT(out, a, b, m, k)
			return out
		}, func() []float32 {
			out := make([]float32, m+3)
			best.matVecT(out[:m], a, b[:k], m, k)
			return out
		}},
		{"Dot/Sum/Max", func() []float32 {
			return []float32{Dot(a[:k], b), Sum(a), Max(a), Max(nil)}
		}, func() []float32 {
			return []float32{best.dot(a[:k], b[:k]), best.sum(a), best.max(a), float32(math.Inf(-1))}
		}},
		{"RMSNorm", func() []float32 {
			out := make([]float32, k)
			return append(out, RMSNorm(out, a[:k], b, 1e-5))
		}, func() []float32 {
			out := make([]float32, k)
			return append(out, best.rmsNorm(out, a[:k], b[:k], 1e-5))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want(), tc.got()); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// TestShapePanics: a slice shorter than its stated shape is a programming
// error, reported with the operand's name before any memory is touched.
func TestShapePanics(t *testing.T) {
	t.Parallel()
	short := make([]float32, 5)
	long := make([]float32, 100)
	tests := []struct {
		name, want string
		f          func()
	}{
		{"MatMulT out", "out has length 5", func() { MatMulT(short, long, long, 3, 3, 3, false) }},
		{"MatMulNN b", "b has length 5", func() { MatMulNN(long, long, short, 3, 3, 3, false) }},
		{"MatMulTN negative", "negative matmul shape", func() { MatMulTN(long, long, long, -1, 3, 3) }},
		{"MatVecT x", "x has length 5", func() { MatVecT(long, long, short, 3, 6) }},
		{"Dot", "b has length 5", func() { Dot(long, short) }},
		{"Kernels.MatMulT", "a has length 5", func() { New(1).MatMulT(long, short, long, 3, 3, 3, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to contain %q", msg, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestNoAllocs: in steady state neither the free functions nor a Kernels
// call allocate (buffers live on the stack, tasks travel by value).
func TestNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	const m, k, n = 300, 128, 160
	a, b, out := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	par := New(2)
	defer par.Close()
	tests := []struct {
		name string
		f    func()
	}{
		{"MatMulT", func() { MatMulT(out, a, b, m, k, n, false) }},
		{"MatMulT small M", func() { MatMulT(out, a, b, 5, k, n, false) }},
		{"MatMulNN", func() { MatMulNN(out, a, b, m, k, n, true) }},
		{"MatMulTN", func() { MatMulTN(out, a, b, m, k, n) }},
		{"MatVecT", func() { MatVecT(out, b, a, n, k) }},
		{"SoftmaxInPlace", func() { SoftmaxInPlace(out[:1000]) }},
		{"Kernels.MatMulT", func() { par.MatMulT(out, a, b, m, k, n, false) }},
		{"Kernels.MatMulTN", func() { par.MatMulTN(out, a, b, m, k, n) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(5, tc.f); got != 0 {
				t.Errorf("%v allocations per call, want 0", got)
			}
		})
	}
}
