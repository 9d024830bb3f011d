package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-research/sleuth/internal/cputime"
)

// Benchmarks at the engine's shapes (BT=2048 tokens, C=128, hidden 352/512)
// report GFLOP/s; "naive" is the plain triple loop the kernels replace.
// Run: go test ./model/kernels -run '^$' -bench . -benchtime 20x

var benchShapes = [][3]int{ // m, k, n
	{2048, 128, 128},
	{2048, 128, 512},
	{2048, 128, 352},
}

// bench runs f b.N times and reports GFLOP/s by wall clock and by process
// CPU time. On a shared machine the wall figure drops when other processes
// take the core; the CPU-time figure (for single-threaded runs) does not.
func bench(b *testing.B, flops float64, f func()) {
	cpu0 := cputime.Process()
	for b.Loop() {
		f()
	}
	cpu := cputime.Process() - cpu0
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOP/s")
	}
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
			b.Run(c.name+"/"+name, func(b *testing.B) { bench(b, flops, c.f) })
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
			bench(b, flops, func() {
				for i := range n {
					var s float32
					for p := range k {
						s += w[i*k+p] * x[p]
					}
					out[i] = s
				}
			})
		})
		b.Run("generic/"+name, func(b *testing.B) { bench(b, flops, func() { matVecTGeneric(out, w, x, n, k) }) })
		b.Run("simd/"+name, func(b *testing.B) { bench(b, flops, func() { MatVecT(out, w, x, n, k) }) })
	}
}

// BenchmarkAttention: per-head products of causal attention at T=256 and
// head size D (scores Q·Kᵀ, output P·V, and the backward's Pᵀ·dY).
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	const t = 256
	for _, d := range []int{8, 32, 64} {
		q, kk, p, y := randSlice(r, t*d), randSlice(r, t*d), randSlice(r, t*t), make([]float32, t*d)
		flops := 2 * float64(t*t*d)
		b.Run(fmt.Sprintf("T/%dx%dx%d", t, d, t), func(b *testing.B) { bench(b, flops, func() { MatMulT(p, q, kk, t, d, t, false) }) })
		b.Run(fmt.Sprintf("NN/%dx%dx%d", t, t, d), func(b *testing.B) { bench(b, flops, func() { MatMulNN(y, p, kk, t, t, d, false) }) })
		b.Run(fmt.Sprintf("TN/%dx%dx%d", t, t, d), func(b *testing.B) { bench(b, flops, func() { MatMulTN(y, p, q, t, t, d) }) })
		b.Run(fmt.Sprintf("generic-T/%dx%dx%d", t, d, t), func(b *testing.B) {
			bench(b, flops, func() { matMulTGeneric(mat{p, t}, mat{q, d}, mat{kk, d}, t, d, t, false) })
		})
	}
}

// BenchmarkSplitThreshold compares one goroutine with two around the
// default split threshold (2·M·N·K of 0.5 to 8 MFLOP) to place it.
func BenchmarkSplitThreshold(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	one := NewConfig(Config{Workers: 1})
	two := NewConfig(Config{Workers: 2, MinParallelFlops: 1})
	defer two.Close()
	const k, n = 128, 128
	for _, m := range []int{8, 16, 32, 64, 128, 256} {
		a, w, out := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
		flops := 2 * float64(m*k*n)
		for _, c := range []struct {
			name string
			k    *Kernels
		}{{"serial", one}, {"split", two}} {
			b.Run(fmt.Sprintf("%s/%.1fMFLOP", c.name, flops/1e6), func(b *testing.B) {
				bench(b, flops, func() { c.k.MatMulT(out, a, w, m, k, n, false) })
			})
		}
	}
}

// BenchmarkVector times the element-wise kernels, portable against the
// fastest path, at sizes the engine uses (one row of C=128 or V=512; SwiGLU
// over a whole batch of 2048×352).
func BenchmarkVector(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	const big = 2048 * 352
	x, y, out := randSlice(r, big), randSlice(r, big), make([]float32, big)
	for _, p := range impls() {
		cases := []struct {
			name string
			n    int
			f    func()
		}{
			{"SiLUMul", big, func() { p.siluMul(out, x, y) }},
			{"Sigmoid", big, func() { p.sigmoid(out, x) }},
			{"Softmax", 512, func() { copy(out[:512], x); p.softmax(out[:512]) }},
			{"RMSNorm", 128, func() { p.rmsNorm(out[:128], x[:128], y[:128], 1e-5) }},
			{"Dot", 128, func() { out[0] = p.dot(x[:128], y[:128]) }},
			{"Axpy", 128, func() { p.axpy(0.5, x[:128], out[:128]) }},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/%s/%d", c.name, p.name, c.n), func(b *testing.B) {
				for b.Loop() {
					c.f()
				}
				b.ReportMetric(float64(c.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
			})
		}
	}
}
