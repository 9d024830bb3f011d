//go:build !amd64 || purego

package kernels

// Without the amd64 assembly (other architectures, or -tags purego) the
// SIMD entry points are the portable kernels and are never selected.

const haveSIMD = false

func matMulTSIMD(out, a, b mat, m, k, n int, acc bool)     { matMulTGeneric(out, a, b, m, k, n, acc) }
func matMulNNSIMD(out, a, b mat, m, k, n int, acc bool)    { matMulNNGeneric(out, a, b, m, k, n, acc) }
func matMulTNSIMD(out, a, b mat, m, k, n int)              { matMulTNGeneric(out, a, b, m, k, n) }
func matVecTSIMD(out, w, x []float32, n, k int)            { matVecTGeneric(out, w, x, n, k) }
func dotSIMD(a, b []float32) float32                       { return dotGeneric(a, b) }
func axpySIMD(alpha float32, x, y []float32)               { axpyGeneric(alpha, x, y) }
func scaleSIMD(x []float32, s float32)                     { scaleGeneric(x, s) }
func addSIMD(dst, a, b []float32)                          { addGeneric(dst, a, b) }
func mulSIMD(dst, a, b []float32)                          { mulGeneric(dst, a, b) }
func sumSIMD(x []float32) float32                          { return sumGeneric(x) }
func maxSIMD(x []float32) float32                          { return maxGeneric(x) }
func rmsNormSIMD(out, x, w []float32, eps float32) float32 { return rmsNormGeneric(out, x, w, eps) }
func siluMulSIMD(out, gate, up []float32)                  { siluMulGeneric(out, gate, up) }

func softmaxSIMD(x []float32)      { softmaxWith(x, maxGeneric, scaleGeneric) }
func sigmoidSIMD(dst, x []float32) { sigmoidGeneric(dst, x) }
