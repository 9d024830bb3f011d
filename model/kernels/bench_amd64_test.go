//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKern6x16 runs the register tile on L1-resident operands: the
// ceiling the blocked products are measured against.
func BenchmarkKern6x16(b *testing.B) {
	if !haveSIMD {
		b.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(3, 3))
	const k = 256
	a, bp, c := randSlice(r, mr*k), randSlice(r, k*nr), make([]float32, mr*nr)
	bench(b, 2*mr*nr*k, func() { kern6x16(&a[0], k, 1, &bp[0], nr, &c[0], nr, k, false) })
}

func BenchmarkKern6x8(b *testing.B) {
	if !haveSIMD {
		b.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(3, 3))
	const k = 256
	a, bp, c := randSlice(r, mr*k), randSlice(r, k*nr), make([]float32, mr*nr)
	bench(b, 2*mr*8*k, func() { kern6x8(&a[0], k, 1, &bp[0], nr, &c[0], nr, k, false) })
}

// BenchmarkSmallM places smallM: MatMulT for a few rows (batched decoding)
// by dot products without packing versus the packed gemm.
func BenchmarkSmallM(b *testing.B) {
	if !haveSIMD {
		b.Skip("no AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(6, 6))
	for _, s := range [][2]int{{512, 64}, {512, 128}, {512, 512}} {
		n, k := s[0], s[1]
		w := randSlice(r, n*k)
		for _, m := range []int{2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 1024} {
			x, out := randSlice(r, m*k), make([]float32, m*n)
			flops := 2 * float64(m*n*k)
			b.Run(fmt.Sprintf("dot/%dx%dx%d", m, k, n), func(b *testing.B) {
				bench(b, flops, func() { matMulTSmall(mat{out, n}, mat{x, k}, mat{w, k}, m, k, n, false) })
			})
			b.Run(fmt.Sprintf("gemm/%dx%dx%d", m, k, n), func(b *testing.B) {
				bench(b, flops, func() { gemm(mat{out, n}, x, k, 1, mat{w, k}, true, m, k, n, false) })
			})
		}
	}
}
