package kernels

import (
	"math"
)

// The portable kernels: plain Go, unrolled enough to let the compiler keep
// several independent sums in registers. They are the fallback on CPUs
// without AVX2/FMA and the reference the SIMD path is tested against.

// mat is a row-major matrix view: element (i, j) is d[i*ld+j]. Strided
// views let a worker take a block of rows or columns without copying.
type mat struct {
	d  []float32
	ld int
}

// row returns the first n elements of row i.
func (x mat) row(i, n int) []float32 { return x.d[i*x.ld : i*x.ld+n] }

// matMulTGeneric: out(M,N) = a(M,K)·b(N,K)ᵀ [+ out].
func matMulTGeneric(out, a, b mat, m, k, n int, acc bool) {
	for i := range m {
		ar := a.row(i, k)
		or := out.row(i, n)
		j := 0
		for ; j+4 <= n; j += 4 {
			b0, b1, b2, b3 := b.row(j, k), b.row(j+1, k), b.row(j+2, k), b.row(j+3, k)
			var s0, s1, s2, s3 float32
			for p, av := range ar {
				s0 += av * b0[p]
				s1 += av * b1[p]
				s2 += av * b2[p]
				s3 += av * b3[p]
			}
			if acc {
				s0 += or[j]
				s1 += or[j+1]
				s2 += or[j+2]
				s3 += or[j+3]
			}
			or[j], or[j+1], or[j+2], or[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			s := dotGeneric(ar, b.row(j, k))
			if acc {
				s += or[j]
			}
			or[j] = s
		}
	}
}

// matMulNNGeneric: out(M,N) = a(M,K)·b(K,N) [+ out], as row axpys so the
// inner loop runs along contiguous rows of b and out.
func matMulNNGeneric(out, a, b mat, m, k, n int, acc bool) {
	for i := range m {
		or := out.row(i, n)
		if !acc {
			clear(or)
		}
		for p, av := range a.row(i, k) {
			axpyGeneric(av, b.row(p, n), or)
		}
	}
}

// matMulTNGeneric: out(M,N) += a(K,M)ᵀ·b(K,N), as rank-1 updates.
func matMulTNGeneric(out, a, b mat, m, k, n int) {
	for p := range k {
		br := b.row(p, n)
		for i, av := range a.row(p, m) {
			axpyGeneric(av, br, out.row(i, n))
		}
	}
}

func matVecTGeneric(out, w, x []float32, n, k int) {
	for i := range n {
		out[i] = dotGeneric(w[i*k:i*k+k], x)
	}
}

func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func addGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func mulGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func sumGeneric(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func maxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

// expf is exp for float32 with about 1 ulp error (Cephes expf: range
// reduction by ln 2, then a degree-6 polynomial), several times faster than
// going through float64 math.Exp.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -87.33654:
		// Results here are subnormal or zero; rare enough for float64.
		return float32(math.Exp(float64(x)))
	}
	k := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - k*ln2hi - k*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	// k is in [-126, 128]; scale in two steps so 2^128 does not overflow.
	ki := int32(k)
	if ki > 127 {
		return y * 2 * math.Float32frombits(uint32(ki-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(ki+127)<<23)
}

func rmsNormGeneric(out, x, w []float32, eps float32) float32 {
	ss := dotGeneric(x, x)
	rstd := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
	out, w = out[:len(x)], w[:len(x)]
	for i, v := range x {
		out[i] = v * rstd * w[i]
	}
	return rstd
}

// softmaxWith is the portable softmax, parameterised by its max and scale.
func softmaxWith(x []float32, max func([]float32) float32, scale func([]float32, float32)) {
	if len(x) == 0 {
		return
	}
	mx := max(x)
	var s float32
	for i, v := range x {
		e := expf(v - mx)
		x[i] = e
		s += e
	}
	scale(x, 1/s)
}

func siluMulGeneric(out, gate, up []float32) {
	gate, up = gate[:len(out)], up[:len(out)]
	for i, g := range gate {
		out[i] = g / (1 + expf(-g)) * up[i]
	}
}

func sigmoidGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = 1 / (1 + expf(-v))
	}
}
