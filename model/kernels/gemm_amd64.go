//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// haveSIMD: the assembly needs AVX2 for 8-wide float32 and FMA for the
// fused multiply-adds; OSXSAVE support is folded into x/sys/cpu's flags.
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kern6x16 computes one 6×16 tile of C; see gemm_amd64.s.
//
//go:noescape
func kern6x16(a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, k int, acc bool)

// kern6x8 is kern6x16 for the first 8 columns of a panel; see gemm_amd64.s.
//
//go:noescape
func kern6x8(a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, k int, acc bool)

// dotT3x4AVX2 computes 3-row × 4-column blocks of a small-M MatMulT as
// dot products; see gemm_amd64.s.
//
//go:noescape
func dotT3x4AVX2(out *float32, ldo int, a *float32, lda int, b *float32, ldb int, k8, m3 int, acc bool)

// Register-blocking sizes of kern6x16 and the k-block the packed B panel
// covers (kc·nr floats = 16 KiB, on the stack, half of L1).
const (
	mr = 6
	nr = 16
	kc = 256
)

func matMulTSIMD(out, a, b mat, m, k, n int, acc bool) {
	if m < 16 || m < smallM && k%8 == 0 {
		matMulTSmall(out, a, b, m, k, n, acc)
		return
	}
	gemm(out, a.d, a.ld, 1, b, true, m, k, n, acc)
}

// smallM: below this many rows a MatMulT (batched decoding, attention
// scores of short sequences) runs as dot products that read b in place.
// Packing b costs about as much as a 100-row product; the dot products run
// at 90–100 GFLOP/s on one core up to a few hundred rows, where the gemm
// catches up (BenchmarkSmallM). Rows beyond 16 also need K%8 == 0, as the
// K tail is done one Dot per output.
const smallM = 256

// matMulTSmall computes out(M,N) = a(M,K)·b(N,K)ᵀ [+ out] for small M:
// for each group of four rows of b (which stay in L1), all row triples of a.
// Leftover rows of a go through the matrix-vector kernel (or Dot when
// accumulating), leftover rows of b and the K%8 tail through Dot.
func matMulTSmall(out, a, b mat, m, k, n int, acc bool) {
	m3, n4, k8 := m/3, n&^3, k&^7
	if k8 > 0 && m3 > 0 {
		for j := 0; j < n4; j += 4 {
			dotT3x4AVX2(&out.d[j], out.ld, &a.d[0], a.ld, &b.d[j*b.ld], b.ld, k8, m3, acc)
		}
	} else {
		m3, k8 = 0, 0
	}
	for i := range m {
		or, ar := out.row(i, n), a.row(i, k)
		if i >= 3*m3 && !acc && b.ld == k {
			matVecTSIMD(or, b.d[:n*k], ar, n, k)
			continue
		}
		j0 := 0
		if i < 3*m3 { // columns < n4 done above except the K tail
			if k8 < k {
				for j := range n4 {
					or[j] += dotSIMD(ar[k8:], b.row(j, k)[k8:])
				}
			}
			j0 = n4
		}
		for j := j0; j < n; j++ {
			s := dotSIMD(ar, b.row(j, k))
			if acc {
				s += or[j]
			}
			or[j] = s
		}
	}
}

func matMulNNSIMD(out, a, b mat, m, k, n int, acc bool) {
	gemm(out, a.d, a.ld, 1, b, false, m, k, n, acc)
}

// matMulTNSIMD reads A's tiles in place (6 adjacent columns of a per k
// step). Packing them instead measured slower: the strided gather costs a
// third of the tile's FMAs (tried and dropped).
func matMulTNSIMD(out, a, b mat, m, k, n int) {
	gemm(out, a.d, 1, a.ld, b, false, m, k, n, true)
}

// gemm computes out(M,N) (+)= A·B where A(i,p) = a[i*rs+p*cs] and B is b
// (K,N), or b (N,K) transposed when bT is set. For every 16-column panel and
// k-block it packs B into a contiguous, zero-padded kc×16 panel that stays
// in L1 while the 6-row tiles of A stream past it.
func gemm(out mat, a []float32, rs, cs int, b mat, bT bool, m, k, n int, acc bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			for i := range m {
				clear(out.row(i, n))
			}
		}
		return
	}
	var bp [kc * nr]float32
	for j0 := 0; j0 < n; j0 += nr {
		nb := min(nr, n-j0)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			packB(bp[:], b, bT, j0, nb, p0, kb)
			accum := acc || p0 > 0
			i0 := 0
			if nb == nr || nb == nr/2 {
				for ; i0+mr <= m; i0 += mr {
					tile(nb, &a[i0*rs+p0*cs], rs, cs, &bp[0], nr, &out.d[i0*out.ld+j0], out.ld, kb, accum)
				}
			}
			for ; i0 < m; i0 += mr {
				edgeTile(out, a, rs, cs, &bp, m, i0, min(mr, m-i0), j0, nb, p0, kb, accum)
			}
		}
	}
}

// packB copies B's block of rows p0..p0+kb and columns j0..j0+nb into
// bp[p*nr+j], zero-padding columns nb..nr so the kernel can always read 16.
func packB(bp []float32, b mat, bT bool, j0, nb, p0, kb int) {
	bp = bp[:kb*nr]
	if bT { // B(p,j) = b[j][p]: walk each row of b once, scatter by stride nr.
		for j := range nb {
			src := b.d[(j0+j)*b.ld+p0 : (j0+j)*b.ld+p0+kb]
			for p, v := range src {
				bp[p*nr+j] = v
			}
		}
	} else {
		for p := range kb {
			copy(bp[p*nr:p*nr+nb], b.d[(p0+p)*b.ld+j0:])
		}
	}
	if nb < nr {
		for p := range kb {
			clear(bp[p*nr+nb : p*nr+nr])
		}
	}
}

// edgeTile computes a partial tile (mb ≤ 6 rows, nb ≤ 16 columns) into a
// scratch tile and copies the valid part out. When A has at least 6 rows a
// ragged last tile reuses the 6 rows ending at row m, overlapping the tile
// before it, so A is read in place; only a matrix of fewer than 6 rows is
// copied into a zero-padded buffer.
func edgeTile(out mat, a []float32, rs, cs int, bp *[kc * nr]float32, m, i0, mb, j0, nb, p0, kb int, acc bool) {
	var ct [mr * nr]float32
	off := 0
	if m >= mr {
		s0 := min(i0, m-mr)
		off = i0 - s0
		tile(nb, &a[s0*rs+p0*cs], rs, cs, &bp[0], nr, &ct[0], nr, kb, false)
	} else {
		var ap [mr * kc]float32
		for i := range mb {
			base := (i0+i)*rs + p0*cs
			row := ap[i*kc : i*kc+kb]
			if cs == 1 {
				copy(row, a[base:])
			} else {
				for p := range row {
					row[p] = a[base+p*cs]
				}
			}
		}
		tile(nb, &ap[0], kc, 1, &bp[0], nr, &ct[0], nr, kb, false)
	}
	for i := range mb {
		dst := out.row(i0+i, j0+nb)[j0:]
		src := ct[(off+i)*nr : (off+i)*nr+nb]
		if acc {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// tile runs the narrowest tile kernel covering nb columns. A direct call,
// not a function value: pointers passed through a func value escape, which
// would move the stack buffers to the heap.
func tile(nb int, a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, k int, acc bool) {
	if nb <= nr/2 {
		kern6x8(a, rs, cs, b, ldb, c, ldc, k, acc)
		return
	}
	kern6x16(a, rs, cs, b, ldb, c, ldc, k, acc)
}
