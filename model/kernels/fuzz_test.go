package kernels

import (
	"math/rand/v2"
	"testing"
)

// FuzzMatMul compares every product of the fastest path with the float64
// reference on fuzzer-chosen shapes (up to 64×300×64), where the assembly's
// edge handling (ragged tiles, K tails, small-M dot products) lives.
func FuzzMatMul(f *testing.F) {
	for _, s := range [][4]uint16{{1, 1, 1, 0}, {6, 8, 16, 1}, {7, 9, 17, 2}, {17, 257, 33, 3}, {2, 3, 8, 4}} {
		f.Add(s[0], s[1], s[2], uint64(s[3]))
	}
	f.Fuzz(func(t *testing.T, m16, k16, n16 uint16, seed uint64) {
		m, k, n := int(m16%65), int(k16%301), int(n16%65)
		r := rand.New(rand.NewPCG(seed, 1))
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		for _, c := range mmCases {
			init := randSlice(r, m*n)
			want, mag := matMulNaive(init, a, b, m, k, n, c.ta, c.tb, true)
			out := append([]float32(nil), init...)
			c.run(best, out, a, b, m, k, n, true)
			for i := range want {
				if !closeTo(out[i], want[i], mag[i]) {
					t.Fatalf("%s %dx%dx%d: element %d = %g, want %g", c.name, m, k, n, i, out[i], want[i])
				}
			}
		}
	})
}
