package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks at the engine's shapes (BT=2048 tokens, C=128, hidden 352/512)
// report GFLOP/s; "naive" is the plain triple loop the kernels replace.
// Run: go test ./model/kernels -run '^$' -bench . -benchtime 20x

var benchShapes = [][3]int{ // m, k, n
	{2048, 128, 128},
	{2048, 128, 512},
	{2048, 128, 352},
}

func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// naiveMatMulT is the unblocked loop the kernels are measured against.
func naiveMatMulT(out, a, b []float32, m, k, n int) {
	for i := range m {
		for j := range n {
			var s float32
			for p := range k {
				s += a[i*k+p] * b[j*k+p]
			}
			out[i*n+j] = s
		}
	}
}

func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	par := New(0)
	defer par.Close()
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		x, w, out := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
		flops := 2 * float64(m*k*n)
		name := fmt.Sprintf("%dx%dx%d", m, k, n)
		// The backward shapes: dinp(BT,C) = dout(BT,OC)·W(OC,C) and
		// dW(OC,C) += dout(BT,OC)ᵀ·inp(BT,C).
		dout, dinp, dw := randSlice(r, m*n), make([]float32, m*k), make([]float32, n*k)
		cases := []struct {
			name string
			f    func()
		}{
			{"naive/T", func() { naiveMatMulT(out, x, w, m, k, n) }},
			{"generic/T", func() { matMulTGeneric(mat{out, n}, mat{x, k}, mat{w, k}, m, k, n, false) }},
			{"T", func() { MatMulT(out, x, w, m, k, n, false) }},
			{"NN", func() { MatMulNN(dinp, dout, w, m, n, k, false) }},
			{"TN", func() { MatMulTN(dw, dout, x, n, m, k) }},
			{"parallel/T", func() { par.MatMulT(out, x, w, m, k, n, false) }},
			{"parallel/NN", func() { par.MatMulNN(dinp, dout, w, m, n, k, false) }},
			{"parallel/TN", func() { par.MatMulTN(dw, dout, x, n, m, k) }},
		}
		for _, c := range cases {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					c.f()
				}
				reportGFLOPS(b, flops)
			})
		}
	}
}

func BenchmarkMatVecT(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, s := range [][2]int{{64, 64}, {512, 64}, {172, 64}, {32000, 288}} {
		n, k := s[0], s[1]
		w, x, out := randSlice(r, n*k), randSlice(r, k), make([]float32, n)
		flops := 2 * float64(n*k)
		name := fmt.Sprintf("%dx%d", n, k)
		b.Run("naive/"+name, func(b *testing.B) {
			for b.Loop() {
				for i := range n {
					var s float32
					for p := range k {
						s += w[i*k+p] * x[p]
					}
					out[i] = s
				}
			}
			reportGFLOPS(b, flops)
		})
		b.Run("generic/"+name, func(b *testing.B) {
			for b.Loop() {
				matVecTGeneric(out, w, x, n, k)
			}
			reportGFLOPS(b, flops)
		})
		b.Run("simd/"+name, func(b *testing.B) {
			for b.Loop() {
				MatVecT(out, w, x, n, k)
			}
			reportGFLOPS(b, flops)
		})
	}
}
