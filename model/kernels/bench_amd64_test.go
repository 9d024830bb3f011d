//go:build !purego

package kernels

import (
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
