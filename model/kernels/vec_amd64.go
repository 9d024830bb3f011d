//go:build !purego

package kernels

import (
	"math"
	"unsafe"
)

// Assembly declarations (vec_amd64.s). Pointers may be nil only when the
// length is 0, which the wrappers below never pass.

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func mulAVX2(dst, a, b *float32, n int)

//go:noescape
func matVecAVX2(out, w *float32, ldw int, x *float32, k, rows int)

// ptr returns the address of x's first element without a bounds check on
// empty slices (the kernels read nothing when n is 0).
func ptr(x []float32) *float32 { return unsafe.SliceData(x) }

func dotSIMD(a, b []float32) float32 { return dotAVX2(ptr(a), ptr(b), len(a)) }
func sumSIMD(x []float32) float32    { return sumAVX2(ptr(x), len(x)) }

func maxSIMD(x []float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	return maxAVX2(ptr(x), len(x))
}

func axpySIMD(alpha float32, x, y []float32) { axpyAVX2(alpha, ptr(x), ptr(y), len(x)) }
func scaleSIMD(x []float32, s float32)       { scaleAVX2(ptr(x), len(x), s) }
func addSIMD(dst, a, b []float32)            { addAVX2(ptr(dst), ptr(a), ptr(b), len(dst)) }
func mulSIMD(dst, a, b []float32)            { mulAVX2(ptr(dst), ptr(a), ptr(b), len(dst)) }

// matVecTSIMD does four rows at a time over the multiple-of-8 prefix of K
// and finishes the ragged rows and columns with dot products.
func matVecTSIMD(out, w, x []float32, n, k int) {
	k8 := k &^ 7
	i := 0
	if k8 > 0 {
		i = n &^ 3
		matVecAVX2(ptr(out), ptr(w), k, ptr(x), k8, i)
	}
	if k8 < k {
		for r := range i {
			out[r] += dotSIMD(w[r*k+k8:r*k+k], x[k8:])
		}
	}
	for ; i < n; i++ {
		out[i] = dotSIMD(w[i*k:i*k+k], x)
	}
}

func rmsNormSIMD(out, x, w []float32, eps float32) float32 {
	ss := dotSIMD(x, x)
	rstd := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
	mulSIMD(out, x, w)
	scaleSIMD(out, rstd)
	return rstd
}

//go:noescape
func expSubSumAVX2(x *float32, n int, m float32) float32

//go:noescape
func siluMulAVX2(out, gate, up *float32, n int)

//go:noescape
func sigmoidAVX2(dst, x *float32, n int)

// sigmoidSIMD and siluMulSIMD run a ragged tail through the vector code
// too, on a zero-padded copy: the scalar expf rounds differently from the
// vector exp now and then, and an element's value must not depend on
// whether it fell in the tail, that is on the slice's length (the rows of
// a batch share one call, so a row's activations would depend on how many
// other rows it was batched with; see model.Model.Deterministic).
func sigmoidSIMD(dst, x []float32) {
	n8 := len(dst) &^ 7
	sigmoidAVX2(ptr(dst), ptr(x), n8)
	if n8 < len(dst) {
		var xt, dt [8]float32
		copy(xt[:], x[n8:])
		sigmoidAVX2(&dt[0], &xt[0], 8)
		copy(dst[n8:], dt[:])
	}
}

// softmaxSIMD: max, then exp(x-max) and its sum in one vector pass, then a
// scale; the ragged tail uses the scalar expf.
func softmaxSIMD(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := maxSIMD(x)
	n8 := len(x) &^ 7
	s := expSubSumAVX2(ptr(x), n8, mx)
	for i := n8; i < len(x); i++ {
		x[i] = expf(x[i] - mx)
		s += x[i]
	}
	scaleSIMD(x, 1/s)
}

func siluMulSIMD(out, gate, up []float32) {
	n8 := len(out) &^ 7
	siluMulAVX2(ptr(out), ptr(gate), ptr(up), n8)
	if n8 < len(out) {
		var gt, ut, ot [8]float32
		copy(gt[:], gate[n8:])
		copy(ut[:], up[n8:])
		siluMulAVX2(&ot[0], &gt[0], &ut[0], 8)
		copy(out[n8:], ot[:])
	}
}
