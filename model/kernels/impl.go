package kernels

// Dispatch from an impl to its kernels. Each method picks the assembly
// version when the impl is SIMD; the shape checks happened in the caller.

func (p impl) matMulT(out, a, b mat, m, k, n int, acc bool) {
	if p.simd {
		matMulTSIMD(out, a, b, m, k, n, acc)
		return
	}
	matMulTGeneric(out, a, b, m, k, n, acc)
}

func (p impl) matMulNN(out, a, b mat, m, k, n int, acc bool) {
	if p.simd {
		matMulNNSIMD(out, a, b, m, k, n, acc)
		return
	}
	matMulNNGeneric(out, a, b, m, k, n, acc)
}

func (p impl) matMulTN(out, a, b mat, m, k, n int) {
	if p.simd {
		matMulTNSIMD(out, a, b, m, k, n)
		return
	}
	matMulTNGeneric(out, a, b, m, k, n)
}

func (p impl) matVecT(out, w, x []float32, n, k int) {
	if p.simd {
		matVecTSIMD(out, w, x, n, k)
		return
	}
	matVecTGeneric(out, w, x, n, k)
}

func (p impl) dot(a, b []float32) float32 {
	if p.simd {
		return dotSIMD(a, b)
	}
	return dotGeneric(a, b)
}

func (p impl) axpy(alpha float32, x, y []float32) {
	if p.simd {
		axpySIMD(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

func (p impl) scale(x []float32, s float32) {
	if p.simd {
		scaleSIMD(x, s)
		return
	}
	scaleGeneric(x, s)
}

func (p impl) add(dst, a, b []float32) {
	if p.simd {
		addSIMD(dst, a, b)
		return
	}
	addGeneric(dst, a, b)
}

func (p impl) mul(dst, a, b []float32) {
	if p.simd {
		mulSIMD(dst, a, b)
		return
	}
	mulGeneric(dst, a, b)
}

func (p impl) sum(x []float32) float32 {
	if p.simd {
		return sumSIMD(x)
	}
	return sumGeneric(x)
}

func (p impl) max(x []float32) float32 {
	if p.simd {
		return maxSIMD(x)
	}
	return maxGeneric(x)
}

func (p impl) rmsNorm(out, x, w []float32, eps float32) float32 {
	if p.simd {
		return rmsNormSIMD(out, x, w, eps)
	}
	return rmsNormGeneric(out, x, w, eps)
}

func (p impl) softmax(x []float32) {
	if p.simd {
		softmaxSIMD(x)
		return
	}
	softmaxWith(x, maxGeneric, scaleGeneric)
}

func (p impl) siluMul(out, gate, up []float32) {
	if p.simd {
		siluMulSIMD(out, gate, up)
		return
	}
	siluMulGeneric(out, gate, up)
}

func (p impl) sigmoid(dst, x []float32) {
	if p.simd {
		sigmoidSIMD(dst, x)
		return
	}
	sigmoidGeneric(dst, x)
}
