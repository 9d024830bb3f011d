//go:build !purego

#include "textflag.h"

// Vector kernels: 32 floats per main-loop step in four independent ymm
// chains (FMA latency 4 × 2 pipes), then 8 at a time, then a scalar tail.

// HSUM8 reduces Y0 to its horizontal sum in X0.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VHADDPS      X0, X0, X0 \
	VHADDPS      X0, X0, X0

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JLT         dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JLT         dotred
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8

dot1:
	TESTQ       CX, CX
	JZ          dotdone
	VMOVSS      (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         dot1

dotdone:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func sumAVX2(x *float32, n int) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

sum32:
	CMPQ   CX, $32
	JLT    sum8
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JMP    sum32

sum8:
	CMPQ   CX, $8
	JLT    sumred
	VADDPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JMP    sum8

sumred:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8

sum1:
	TESTQ  CX, CX
	JZ     sumdone
	VADDSS (SI), X0, X0
	ADDQ   $4, SI
	DECQ   CX
	JMP    sum1

sumdone:
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func maxAVX2(x *float32, n int) float32
// n must be at least 1.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS (SI), Y0
	VMOVAPS      Y0, Y1
	VMOVAPS      Y0, Y2
	VMOVAPS      Y0, Y3

max32:
	CMPQ   CX, $32
	JLT    max8
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	VMAXPS 64(SI), Y2, Y2
	VMAXPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JMP    max32

max8:
	CMPQ   CX, $8
	JLT    maxred
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JMP    max8

maxred:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0

max1:
	TESTQ  CX, CX
	JZ     maxdone
	VMAXSS (SI), X0, X0
	ADDQ   $4, SI
	DECQ   CX
	JMP    max1

maxdone:
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ        CX, $32
	JLT         axpy8
	VMOVUPS     (SI), Y1
	VMOVUPS     32(SI), Y2
	VMOVUPS     64(SI), Y3
	VMOVUPS     96(SI), Y4
	VFMADD213PS (DI), Y0, Y1
	VFMADD213PS 32(DI), Y0, Y2
	VFMADD213PS 64(DI), Y0, Y3
	VFMADD213PS 96(DI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JLT         axpy1
	VMOVUPS     (SI), Y1
	VFMADD213PS (DI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpy1:
	TESTQ       CX, CX
	JZ          axpydone
	VMOVSS      (SI), X1
	VFMADD213SS (DI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         axpy1

axpydone:
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y0

scale32:
	CMPQ    CX, $32
	JLT     scale8
	VMULPS  (SI), Y0, Y1
	VMULPS  32(SI), Y0, Y2
	VMULPS  64(SI), Y0, Y3
	VMULPS  96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scale32

scale8:
	CMPQ    CX, $8
	JLT     scale1
	VMULPS  (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale8

scale1:
	TESTQ  CX, CX
	JZ     scaledone
	VMULSS (SI), X0, X1
	VMOVSS X1, (SI)
	ADDQ   $4, SI
	DECQ   CX
	JMP    scale1

scaledone:
	VZEROUPPER
	RET

// BINOP defines func name(dst, a, b *float32, n int) computing
// dst[i] = a[i] OP b[i]; dst may alias a or b since each block is loaded
// before it is stored.
#define BINOP(name, vop, sop) \
TEXT name(SB), NOSPLIT, $0-32 \
	MOVQ dst+0(FP), DX \
	MOVQ a+8(FP), SI \
	MOVQ b+16(FP), DI \
	MOVQ n+24(FP), CX \
loop32: \
	CMPQ    CX, $32 \
	JLT     loop8 \
	VMOVUPS (SI), Y0 \
	VMOVUPS 32(SI), Y1 \
	VMOVUPS 64(SI), Y2 \
	VMOVUPS 96(SI), Y3 \
	vop     (DI), Y0, Y0 \
	vop     32(DI), Y1, Y1 \
	vop     64(DI), Y2, Y2 \
	vop     96(DI), Y3, Y3 \
	VMOVUPS Y0, (DX) \
	VMOVUPS Y1, 32(DX) \
	VMOVUPS Y2, 64(DX) \
	VMOVUPS Y3, 96(DX) \
	ADDQ    $128, SI \
	ADDQ    $128, DI \
	ADDQ    $128, DX \
	SUBQ    $32, CX \
	JMP     loop32 \
loop8: \
	CMPQ    CX, $8 \
	JLT     loop1 \
	VMOVUPS (SI), Y0 \
	vop     (DI), Y0, Y0 \
	VMOVUPS Y0, (DX) \
	ADDQ    $32, SI \
	ADDQ    $32, DI \
	ADDQ    $32, DX \
	SUBQ    $8, CX \
	JMP     loop8 \
loop1: \
	TESTQ   CX, CX \
	JZ      done \
	VMOVSS  (SI), X0 \
	sop     (DI), X0, X0 \
	VMOVSS  X0, (DX) \
	ADDQ    $4, SI \
	ADDQ    $4, DI \
	ADDQ    $4, DX \
	DECQ    CX \
	JMP     loop1 \
done: \
	VZEROUPPER \
	RET

// func addAVX2(dst, a, b *float32, n int)
BINOP(·addAVX2, VADDPS, VADDSS)

// func mulAVX2(dst, a, b *float32, n int)
BINOP(·mulAVX2, VMULPS, VMULSS)

// func matVecAVX2(out, w *float32, ldw int, x *float32, k, rows int)
//
// out[0:rows] = w[0:rows, 0:k] · x for rows of w at stride ldw, four rows
// per step; rows must be a multiple of 4 and k of 8. Two accumulators per
// row hide the FMA latency; the four sums are reduced together at the end
// of each group.
TEXT ·matVecAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DX
	MOVQ w+8(FP), SI
	MOVQ ldw+16(FP), R8
	SHLQ $2, R8
	MOVQ rows+40(FP), R10
	SHRQ $2, R10
	LEAQ (R8)(R8*1), R11
	ADDQ R11, R11        // R11 = 4 rows in bytes
	TESTQ R10, R10
	JZ   mvdone

mvgroup:
	MOVQ   x+24(FP), DI
	MOVQ   k+32(FP), CX
	MOVQ   SI, AX
	LEAQ   (SI)(R8*2), R9 // rows 2 and 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

mv16:
	CMPQ        CX, $16
	JLT         mv8
	VMOVUPS     (DI), Y8
	VMOVUPS     32(DI), Y9
	VFMADD231PS (AX), Y8, Y0
	VFMADD231PS 32(AX), Y9, Y4
	VFMADD231PS (AX)(R8*1), Y8, Y1
	VFMADD231PS 32(AX)(R8*1), Y9, Y5
	VFMADD231PS (R9), Y8, Y2
	VFMADD231PS 32(R9), Y9, Y6
	VFMADD231PS (R9)(R8*1), Y8, Y3
	VFMADD231PS 32(R9)(R8*1), Y9, Y7
	ADDQ        $64, AX
	ADDQ        $64, R9
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         mv16

mv8:
	CMPQ        CX, $8
	JLT         mvred
	VMOVUPS     (DI), Y8
	VFMADD231PS (AX), Y8, Y0
	VFMADD231PS (AX)(R8*1), Y8, Y1
	VFMADD231PS (R9), Y8, Y2
	VFMADD231PS (R9)(R8*1), Y8, Y3

mvred:
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	VHADDPS      Y1, Y0, Y0 // [a01 a23 b01 b23 | a45 a67 b45 b67]
	VHADDPS      Y3, Y2, Y2 // the same for rows c, d
	VHADDPS      Y2, Y0, Y0 // [a b c d | a' b' c' d']
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DX)
	ADDQ         $16, DX
	ADDQ         R11, SI
	DECQ         R10
	JNZ          mvgroup

mvdone:
	VZEROUPPER
	RET
