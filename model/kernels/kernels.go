// Package kernels holds the dense float32 compute kernels of the Go transformer
// engine: matrix multiplications in the three layouts a linear layer needs
// (forward, backward to inputs, backward to weights), single-row matrix-vector
// products for decoding, and the vector operations around them (dot, axpy,
// RMSNorm, softmax, SwiGLU).
//
// All matrices are row-major float32 slices with their shapes passed
// explicitly; a slice shorter than its shape panics with the operand's name
// (a programming error, like an out-of-range index). On amd64 CPUs with AVX2
// and FMA the hot loops run in Go assembly (a 6×16 register-tiled gemm over
// packed panels of B, dot-product blocks for products of few rows, and a
// vectorised exp for softmax, sigmoid and SiLU); everywhere else, under
// -tags purego, and when forced with [Config].Generic, a portable Go path
// computes the same results up to float32 rounding. Exponentials agree with
// math.Exp to about 2 ulp.
//
// The free functions run on the caller's goroutine and allocate nothing.
// [New] returns a [Kernels] whose matrix products are split across cores.
package kernels

import "fmt"

// impl selects an implementation of every kernel. The two implementations are
// values rather than a mutable package switch so tests can run both side by
// side and a [Kernels] can be pinned to the portable path.
type impl struct {
	name string
	simd bool
}

var (
	generic = impl{name: "generic"}
	simd    = impl{name: "simd", simd: true}
)

// best is the fastest implementation this CPU supports; fixed at start-up.
var best = func() impl {
	if haveSIMD {
		return simd
	}
	return generic
}()

// SIMD reports whether the assembly kernels are in use on this CPU.
func SIMD() bool { return best.simd }

func checkLen(what string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("kernels: %s has length %d, need at least %d", what, got, want))
	}
}

func checkMatMul(out, a, b []float32, m, k, n int) {
	if m < 0 || k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: negative matmul shape m=%d k=%d n=%d", m, k, n))
	}
	checkLen("out", len(out), m*n)
	checkLen("a", len(a), m*k)
	checkLen("b", len(b), k*n)
}

// MatMulT computes out(M,N) = a(M,K) · b(N,K)ᵀ, adding to out when
// accumulate is set. It is the forward pass of a linear layer out = inp · Wᵀ
// with W in llm.c's (OC, C) layout. out must not alias a or b.
func MatMulT(out, a, b []float32, m, k, n int, accumulate bool) {
	checkMatMul(out, a, b, m, k, n)
	best.matMulT(mat{out, n}, mat{a, k}, mat{b, k}, m, k, n, accumulate)
}

// MatMulNN computes out(M,N) = a(M,K) · b(K,N), adding to out when
// accumulate is set. It is the backward pass of a linear layer to its inputs:
// dinp(M,C) = dout(M,OC) · W(OC,C). out must not alias a or b.
func MatMulNN(out, a, b []float32, m, k, n int, accumulate bool) {
	checkMatMul(out, a, b, m, k, n)
	best.matMulNN(mat{out, n}, mat{a, k}, mat{b, n}, m, k, n, accumulate)
}

// MatMulTN computes out(M,N) += a(K,M)ᵀ · b(K,N). It is the backward pass of
// a linear layer to its weights: dW(OC,C) += dout(BT,OC)ᵀ · inp(BT,C).
// It always accumulates, as gradients do. out must not alias a or b.
func MatMulTN(out, a, b []float32, m, k, n int) {
	checkMatMul(out, a, b, m, k, n)
	best.matMulTN(mat{out, n}, mat{a, m}, mat{b, n}, m, k, n)
}

// MatVecT computes out(N) = w(N,K) · x(K): one token's linear layer while
// decoding.
func MatVecT(out, w, x []float32, n, k int) {
	checkLen("out", len(out), n)
	checkLen("w", len(w), n*k)
	checkLen("x", len(x), k)
	best.matVecT(out[:n], w[:n*k], x[:k], n, k)
}

// Dot returns Σ a[i]·b[i] over len(a); b must be at least as long.
func Dot(a, b []float32) float32 {
	checkLen("b", len(b), len(a))
	return best.dot(a, b[:len(a)])
}

// Axpy computes y += alpha·x over len(x); y must be at least as long.
func Axpy(alpha float32, x, y []float32) {
	checkLen("y", len(y), len(x))
	best.axpy(alpha, x, y[:len(x)])
}

// Scale computes x *= s.
func Scale(x []float32, s float32) { best.scale(x, s) }

// Add computes dst = a + b over len(dst); dst may alias a or b.
func Add(dst, a, b []float32) {
	checkLen("a", len(a), len(dst))
	checkLen("b", len(b), len(dst))
	best.add(dst, a[:len(dst)], b[:len(dst)])
}

// Mul computes dst = a ⊙ b (elementwise) over len(dst); dst may alias a or b.
func Mul(dst, a, b []float32) {
	checkLen("a", len(a), len(dst))
	checkLen("b", len(b), len(dst))
	best.mul(dst, a[:len(dst)], b[:len(dst)])
}

// Sum returns Σ x[i].
func Sum(x []float32) float32 { return best.sum(x) }

// Max returns the largest element of x, or -Inf for an empty x.
func Max(x []float32) float32 { return best.max(x) }

// RMSNorm computes one row out = x / rms(x) ⊙ w, rms(x) = sqrt(mean(x²)+eps),
// and returns rstd = 1/rms(x) for the backward pass. out may alias x.
func RMSNorm(out, x, w []float32, eps float32) float32 {
	checkLen("out", len(out), len(x))
	checkLen("w", len(w), len(x))
	return best.rmsNorm(out[:len(x)], x, w[:len(x)], eps)
}

// SoftmaxInPlace replaces x by softmax(x), subtracting the maximum first so
// large logits do not overflow.
func SoftmaxInPlace(x []float32) { best.softmax(x) }

// SiLUMul computes out = silu(gate) ⊙ up with silu(g) = g·σ(g): the SwiGLU
// activation of a Llama MLP. out may alias gate or up.
func SiLUMul(out, gate, up []float32) {
	checkLen("gate", len(gate), len(out))
	checkLen("up", len(up), len(out))
	best.siluMul(out, gate[:len(out)], up[:len(out)])
}

// Sigmoid computes dst = σ(x) = 1/(1+exp(−x)) over len(dst); dst may alias
// x. It is what a SwiGLU forward keeps for its backward.
func Sigmoid(dst, x []float32) {
	checkLen("x", len(x), len(dst))
	best.sigmoid(dst, x[:len(dst)])
}
