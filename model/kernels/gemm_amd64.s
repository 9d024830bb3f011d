//go:build !purego

#include "textflag.h"

// func kern6x16(a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, k int, acc bool)
//
// C[0:6, 0:16] (+)= A[0:6, 0:k] · B[0:k, 0:16] where A(i,p) = a[i*rs + p*cs],
// B(p,j) = b[p*ldb + j], C(i,j) = c[i*ldc + j]; strides in elements.
// Twelve ymm accumulators (row i in Y(2i), Y(2i+1)); per k step two loads of
// B, six broadcasts of A and twelve FMAs, which keeps both FMA pipes busy.
TEXT ·kern6x16(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), SI
	MOVQ rs+8(FP), R8
	SHLQ $2, R8
	MOVQ cs+16(FP), R9
	SHLQ $2, R9
	MOVQ b+24(FP), DX
	MOVQ ldb+32(FP), R10
	SHLQ $2, R10
	MOVQ c+40(FP), BX
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11
	MOVQ k+56(FP), CX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI         // DI = a + 3 rows

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JZ    store

loop:
	VMOVUPS      (DX), Y12
	VMOVUPS      32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (DI), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (DI)(R8*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (DI)(R8*2), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         R9, SI
	ADDQ         R9, DI
	ADDQ         R10, DX
	DECQ         CX
	JNZ          loop

store:
	CMPB acc+64(FP), $0
	JEQ  nozero
	VADDPS (BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	ADDQ R11, BX
	VADDPS (BX), Y2, Y2
	VADDPS 32(BX), Y3, Y3
	VMOVUPS Y2, (BX)
	VMOVUPS Y3, 32(BX)
	ADDQ R11, BX
	VADDPS (BX), Y4, Y4
	VADDPS 32(BX), Y5, Y5
	VMOVUPS Y4, (BX)
	VMOVUPS Y5, 32(BX)
	ADDQ R11, BX
	VADDPS (BX), Y6, Y6
	VADDPS 32(BX), Y7, Y7
	VMOVUPS Y6, (BX)
	VMOVUPS Y7, 32(BX)
	ADDQ R11, BX
	VADDPS (BX), Y8, Y8
	VADDPS 32(BX), Y9, Y9
	VMOVUPS Y8, (BX)
	VMOVUPS Y9, 32(BX)
	ADDQ R11, BX
	VADDPS (BX), Y10, Y10
	VADDPS 32(BX), Y11, Y11
	VMOVUPS Y10, (BX)
	VMOVUPS Y11, 32(BX)
	VZEROUPPER
	RET

nozero:
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	ADDQ R11, BX
	VMOVUPS Y2, (BX)
	VMOVUPS Y3, 32(BX)
	ADDQ R11, BX
	VMOVUPS Y4, (BX)
	VMOVUPS Y5, 32(BX)
	ADDQ R11, BX
	VMOVUPS Y6, (BX)
	VMOVUPS Y7, 32(BX)
	ADDQ R11, BX
	VMOVUPS Y8, (BX)
	VMOVUPS Y9, 32(BX)
	ADDQ R11, BX
	VMOVUPS Y10, (BX)
	VMOVUPS Y11, 32(BX)
	VZEROUPPER
	RET

// func kern6x8(a *float32, rs, cs int, b *float32, ldb int, c *float32, ldc int, k int, acc bool)
//
// The 6×8 variant of kern6x16 for panels at most 8 wide (small head sizes).
// It takes two k steps per iteration into separate accumulators (Y0–Y5 and
// Y6–Y11) so that twelve FMA chains are in flight, and adds them at the end.
TEXT ·kern6x8(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), SI
	MOVQ rs+8(FP), R8
	SHLQ $2, R8
	MOVQ cs+16(FP), R9
	SHLQ $2, R9
	MOVQ b+24(FP), DX
	MOVQ ldb+32(FP), R10
	SHLQ $2, R10
	MOVQ c+40(FP), BX
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11
	MOVQ k+56(FP), CX
	LEAQ (SI)(R8*2), DI
	ADDQ R8, DI

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

k8loop2:
	CMPQ         CX, $2
	JLT          k8tail
	VMOVUPS      (DX), Y12
	VMOVUPS      (DX)(R10*1), Y13
	VBROADCASTSS (SI), Y14
	VBROADCASTSS (SI)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y15, Y6
	VBROADCASTSS (SI)(R8*1), Y14
	LEAQ         (SI)(R8*1), AX
	VBROADCASTSS (AX)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y1
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (SI)(R8*2), Y14
	LEAQ         (SI)(R8*2), AX
	VBROADCASTSS (AX)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y2
	VFMADD231PS  Y13, Y15, Y8
	VBROADCASTSS (DI), Y14
	VBROADCASTSS (DI)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y3
	VFMADD231PS  Y13, Y15, Y9
	VBROADCASTSS (DI)(R8*1), Y14
	LEAQ         (DI)(R8*1), AX
	VBROADCASTSS (AX)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y15, Y10
	VBROADCASTSS (DI)(R8*2), Y14
	LEAQ         (DI)(R8*2), AX
	VBROADCASTSS (AX)(R9*1), Y15
	VFMADD231PS  Y12, Y14, Y5
	VFMADD231PS  Y13, Y15, Y11
	LEAQ         (SI)(R9*2), SI
	LEAQ         (DI)(R9*2), DI
	LEAQ         (DX)(R10*2), DX
	SUBQ         $2, CX
	JMP          k8loop2

k8tail:
	TESTQ        CX, CX
	JZ           k8sum
	VMOVUPS      (DX), Y12
	VBROADCASTSS (SI), Y14
	VFMADD231PS  Y12, Y14, Y0
	VBROADCASTSS (SI)(R8*1), Y14
	VFMADD231PS  Y12, Y14, Y1
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS  Y12, Y14, Y2
	VBROADCASTSS (DI), Y14
	VFMADD231PS  Y12, Y14, Y3
	VBROADCASTSS (DI)(R8*1), Y14
	VFMADD231PS  Y12, Y14, Y4
	VBROADCASTSS (DI)(R8*2), Y14
	VFMADD231PS  Y12, Y14, Y5

k8sum:
	VADDPS Y6, Y0, Y0
	VADDPS Y7, Y1, Y1
	VADDPS Y8, Y2, Y2
	VADDPS Y9, Y3, Y3
	VADDPS Y10, Y4, Y4
	VADDPS Y11, Y5, Y5
	CMPB   acc+64(FP), $0
	JEQ    k8store
	VADDPS (BX), Y0, Y0
	LEAQ   (BX)(R11*1), AX
	VADDPS (AX), Y1, Y1
	LEAQ   (AX)(R11*1), AX
	VADDPS (AX), Y2, Y2
	LEAQ   (AX)(R11*1), AX
	VADDPS (AX), Y3, Y3
	LEAQ   (AX)(R11*1), AX
	VADDPS (AX), Y4, Y4
	LEAQ   (AX)(R11*1), AX
	VADDPS (AX), Y5, Y5

k8store:
	VMOVUPS Y0, (BX)
	ADDQ    R11, BX
	VMOVUPS Y1, (BX)
	ADDQ    R11, BX
	VMOVUPS Y2, (BX)
	ADDQ    R11, BX
	VMOVUPS Y3, (BX)
	ADDQ    R11, BX
	VMOVUPS Y4, (BX)
	ADDQ    R11, BX
	VMOVUPS Y5, (BX)
	VZEROUPPER
	RET

// REDUCE4 sums each of four accumulators horizontally into the four lanes
// of the first one's low half: Xa = [Σa Σb Σc Σd]. Clobbers b, c, d and X15.
#define REDUCE4(a, b, c, d, xa) \
	VHADDPS      b, a, a \
	VHADDPS      d, c, c \
	VHADDPS      c, a, a \
	VEXTRACTF128 $1, a, X15 \
	VADDPS       X15, xa, xa

// func dotT3x4AVX2(out *float32, ldo int, a *float32, lda int, b *float32, ldb int, k8, m3 int, acc bool)
//
// Small-M MatMulT without packing: for each of m3 groups of three rows of a
// computes out[i][0:4] (+)= a[i]·b[j] for four rows of b, as 12 dot
// products of length k8 (a multiple of 8) kept in Y0–Y11 and reduced at the
// end. Per 8-wide step: three loads of a, four of b, twelve FMAs.
TEXT ·dotT3x4AVX2(SB), NOSPLIT, $0-65
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R8
	SHLQ $2, R8
	MOVQ b+32(FP), BX
	MOVQ ldb+40(FP), R9
	SHLQ $2, R9
	LEAQ (BX)(R9*1), R11
	LEAQ (BX)(R9*2), R13
	LEAQ (R13)(R9*1), DX
	MOVQ k8+48(FP), R9
	SHLQ $2, R9          // R9 = k8 in bytes: the loop limit
	MOVQ m3+56(FP), R12
	TESTQ R12, R12
	JZ    d34done

d34group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   SI, AX
	XORQ   CX, CX
	CMPQ   CX, R9
	JGE    d34red

d34loop:
	VMOVUPS     (AX), Y12
	VMOVUPS     (AX)(R8*1), Y13
	VMOVUPS     (AX)(R8*2), Y14
	VMOVUPS     (BX)(CX*1), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS     (R11)(CX*1), Y15
	VFMADD231PS Y15, Y12, Y1
	VFMADD231PS Y15, Y13, Y5
	VFMADD231PS Y15, Y14, Y9
	VMOVUPS     (R13)(CX*1), Y15
	VFMADD231PS Y15, Y12, Y2
	VFMADD231PS Y15, Y13, Y6
	VFMADD231PS Y15, Y14, Y10
	VMOVUPS     (DX)(CX*1), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y11
	ADDQ        $32, AX
	ADDQ        $32, CX
	CMPQ        CX, R9
	JLT         d34loop

d34red:
	REDUCE4(Y0, Y1, Y2, Y3, X0)
	REDUCE4(Y4, Y5, Y6, Y7, X4)
	REDUCE4(Y8, Y9, Y10, Y11, X8)
	CMPB    acc+64(FP), $0
	JEQ     d34store
	VADDPS  (DI), X0, X0
	VADDPS  (DI)(R10*1), X4, X4
	VADDPS  (DI)(R10*2), X8, X8

d34store:
	VMOVUPS X0, (DI)
	VMOVUPS X4, (DI)(R10*1)
	VMOVUPS X8, (DI)(R10*2)
	LEAQ    (DI)(R10*2), DI
	ADDQ    R10, DI
	LEAQ    (SI)(R8*2), SI
	ADDQ    R8, SI
	DECQ    R12
	JNZ     d34group

d34done:
	VZEROUPPER
	RET
