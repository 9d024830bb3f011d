//go:build !purego

#include "textflag.h"

// Vectorised exp (Cephes expf: n = round(x·log2 e), r = x − n·ln 2 in two
// parts, degree-6 polynomial, scale by 2^n through the exponent bits), the
// same algorithm as the scalar expf in generic.go. Inputs are clamped to
// [ln FLT_MIN, 88] so 2^n stays a normal float: exp of very negative x
// returns ~1.2e-38 instead of a subnormal, harmless for softmax and SiLU.
// Each constant is stored as 8 lanes so it can be a memory operand.

// exp(88) ≈ 1.65e38: keeps 2^n finite
DATA expHi<>+0(SB)/4, $0x42b00000
DATA expHi<>+4(SB)/4, $0x42b00000
DATA expHi<>+8(SB)/4, $0x42b00000
DATA expHi<>+12(SB)/4, $0x42b00000
DATA expHi<>+16(SB)/4, $0x42b00000
DATA expHi<>+20(SB)/4, $0x42b00000
DATA expHi<>+24(SB)/4, $0x42b00000
DATA expHi<>+28(SB)/4, $0x42b00000
GLOBL expHi<>(SB), RODATA|NOPTR, $32

// ln(FLT_MIN): keeps 2^n normal
DATA expLo<>+0(SB)/4, $0xc2aeac4f
DATA expLo<>+4(SB)/4, $0xc2aeac4f
DATA expLo<>+8(SB)/4, $0xc2aeac4f
DATA expLo<>+12(SB)/4, $0xc2aeac4f
DATA expLo<>+16(SB)/4, $0xc2aeac4f
DATA expLo<>+20(SB)/4, $0xc2aeac4f
DATA expLo<>+24(SB)/4, $0xc2aeac4f
DATA expLo<>+28(SB)/4, $0xc2aeac4f
GLOBL expLo<>(SB), RODATA|NOPTR, $32

DATA expLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA expLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL expLog2e<>(SB), RODATA|NOPTR, $32

DATA expLn2Hi<>+0(SB)/4, $0x3f318000
DATA expLn2Hi<>+4(SB)/4, $0x3f318000
DATA expLn2Hi<>+8(SB)/4, $0x3f318000
DATA expLn2Hi<>+12(SB)/4, $0x3f318000
DATA expLn2Hi<>+16(SB)/4, $0x3f318000
DATA expLn2Hi<>+20(SB)/4, $0x3f318000
DATA expLn2Hi<>+24(SB)/4, $0x3f318000
DATA expLn2Hi<>+28(SB)/4, $0x3f318000
GLOBL expLn2Hi<>(SB), RODATA|NOPTR, $32

DATA expLn2Lo<>+0(SB)/4, $0xb95e8083
DATA expLn2Lo<>+4(SB)/4, $0xb95e8083
DATA expLn2Lo<>+8(SB)/4, $0xb95e8083
DATA expLn2Lo<>+12(SB)/4, $0xb95e8083
DATA expLn2Lo<>+16(SB)/4, $0xb95e8083
DATA expLn2Lo<>+20(SB)/4, $0xb95e8083
DATA expLn2Lo<>+24(SB)/4, $0xb95e8083
DATA expLn2Lo<>+28(SB)/4, $0xb95e8083
GLOBL expLn2Lo<>(SB), RODATA|NOPTR, $32

DATA expC0<>+0(SB)/4, $0x39506967
DATA expC0<>+4(SB)/4, $0x39506967
DATA expC0<>+8(SB)/4, $0x39506967
DATA expC0<>+12(SB)/4, $0x39506967
DATA expC0<>+16(SB)/4, $0x39506967
DATA expC0<>+20(SB)/4, $0x39506967
DATA expC0<>+24(SB)/4, $0x39506967
DATA expC0<>+28(SB)/4, $0x39506967
GLOBL expC0<>(SB), RODATA|NOPTR, $32

DATA expC1<>+0(SB)/4, $0x3ab743ce
DATA expC1<>+4(SB)/4, $0x3ab743ce
DATA expC1<>+8(SB)/4, $0x3ab743ce
DATA expC1<>+12(SB)/4, $0x3ab743ce
DATA expC1<>+16(SB)/4, $0x3ab743ce
DATA expC1<>+20(SB)/4, $0x3ab743ce
DATA expC1<>+24(SB)/4, $0x3ab743ce
DATA expC1<>+28(SB)/4, $0x3ab743ce
GLOBL expC1<>(SB), RODATA|NOPTR, $32

DATA expC2<>+0(SB)/4, $0x3c088908
DATA expC2<>+4(SB)/4, $0x3c088908
DATA expC2<>+8(SB)/4, $0x3c088908
DATA expC2<>+12(SB)/4, $0x3c088908
DATA expC2<>+16(SB)/4, $0x3c088908
DATA expC2<>+20(SB)/4, $0x3c088908
DATA expC2<>+24(SB)/4, $0x3c088908
DATA expC2<>+28(SB)/4, $0x3c088908
GLOBL expC2<>(SB), RODATA|NOPTR, $32

DATA expC3<>+0(SB)/4, $0x3d2aa9c1
DATA expC3<>+4(SB)/4, $0x3d2aa9c1
DATA expC3<>+8(SB)/4, $0x3d2aa9c1
DATA expC3<>+12(SB)/4, $0x3d2aa9c1
DATA expC3<>+16(SB)/4, $0x3d2aa9c1
DATA expC3<>+20(SB)/4, $0x3d2aa9c1
DATA expC3<>+24(SB)/4, $0x3d2aa9c1
DATA expC3<>+28(SB)/4, $0x3d2aa9c1
GLOBL expC3<>(SB), RODATA|NOPTR, $32

DATA expC4<>+0(SB)/4, $0x3e2aaaaa
DATA expC4<>+4(SB)/4, $0x3e2aaaaa
DATA expC4<>+8(SB)/4, $0x3e2aaaaa
DATA expC4<>+12(SB)/4, $0x3e2aaaaa
DATA expC4<>+16(SB)/4, $0x3e2aaaaa
DATA expC4<>+20(SB)/4, $0x3e2aaaaa
DATA expC4<>+24(SB)/4, $0x3e2aaaaa
DATA expC4<>+28(SB)/4, $0x3e2aaaaa
GLOBL expC4<>(SB), RODATA|NOPTR, $32

DATA expC5<>+0(SB)/4, $0x3f000000
DATA expC5<>+4(SB)/4, $0x3f000000
DATA expC5<>+8(SB)/4, $0x3f000000
DATA expC5<>+12(SB)/4, $0x3f000000
DATA expC5<>+16(SB)/4, $0x3f000000
DATA expC5<>+20(SB)/4, $0x3f000000
DATA expC5<>+24(SB)/4, $0x3f000000
DATA expC5<>+28(SB)/4, $0x3f000000
GLOBL expC5<>(SB), RODATA|NOPTR, $32

DATA expOne<>+0(SB)/4, $0x3f800000
DATA expOne<>+4(SB)/4, $0x3f800000
DATA expOne<>+8(SB)/4, $0x3f800000
DATA expOne<>+12(SB)/4, $0x3f800000
DATA expOne<>+16(SB)/4, $0x3f800000
DATA expOne<>+20(SB)/4, $0x3f800000
DATA expOne<>+24(SB)/4, $0x3f800000
DATA expOne<>+28(SB)/4, $0x3f800000
GLOBL expOne<>(SB), RODATA|NOPTR, $32

DATA expBias<>+0(SB)/4, $127
DATA expBias<>+4(SB)/4, $127
DATA expBias<>+8(SB)/4, $127
DATA expBias<>+12(SB)/4, $127
DATA expBias<>+16(SB)/4, $127
DATA expBias<>+20(SB)/4, $127
DATA expBias<>+24(SB)/4, $127
DATA expBias<>+28(SB)/4, $127
GLOBL expBias<>(SB), RODATA|NOPTR, $32

// EXP8 replaces Y0 by exp(Y0); clobbers Y1, Y2, Y3.
#define EXP8 \
	VMINPS       expHi<>(SB), Y0, Y0 \
	VMAXPS       expLo<>(SB), Y0, Y0 \
	VMULPS       expLog2e<>(SB), Y0, Y1 \
	VROUNDPS     $0, Y1, Y1 \
	VFNMADD231PS expLn2Hi<>(SB), Y1, Y0 \
	VFNMADD231PS expLn2Lo<>(SB), Y1, Y0 \
	VMOVUPS      expC0<>(SB), Y2 \
	VFMADD213PS  expC1<>(SB), Y0, Y2 \
	VFMADD213PS  expC2<>(SB), Y0, Y2 \
	VFMADD213PS  expC3<>(SB), Y0, Y2 \
	VFMADD213PS  expC4<>(SB), Y0, Y2 \
	VFMADD213PS  expC5<>(SB), Y0, Y2 \
	VMULPS       Y0, Y0, Y3 \
	VFMADD213PS  Y0, Y3, Y2 \
	VADDPS       expOne<>(SB), Y2, Y2 \
	VCVTPS2DQ    Y1, Y1 \
	VPADDD       expBias<>(SB), Y1, Y1 \
	VPSLLD       $23, Y1, Y1 \
	VMULPS       Y1, Y2, Y0

// func expSubSumAVX2(x *float32, n int, m float32) float32
//
// x[i] = exp(x[i] - m) for n (a multiple of 8) elements; returns their sum.
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y4
	VXORPS       Y5, Y5, Y5

esloop:
	CMPQ    CX, $8
	JLT     esdone
	VMOVUPS (SI), Y0
	VSUBPS  Y4, Y0, Y0
	EXP8
	VMOVUPS Y0, (SI)
	VADDPS  Y0, Y5, Y5
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     esloop

esdone:
	VMOVAPS      Y5, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func siluMulAVX2(out, gate, up *float32, n int)
//
// out[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for n a multiple of 8.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ   out+0(FP), DX
	MOVQ   gate+8(FP), SI
	MOVQ   up+16(FP), DI
	MOVQ   n+24(FP), CX
	VXORPS Y6, Y6, Y6

slloop:
	CMPQ    CX, $8
	JLT     sldone
	VMOVUPS (SI), Y4
	VSUBPS  Y4, Y6, Y0
	EXP8
	VADDPS  expOne<>(SB), Y0, Y0
	VDIVPS  Y0, Y4, Y4
	VMULPS  (DI), Y4, Y4
	VMOVUPS Y4, (DX)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     slloop

sldone:
	VZEROUPPER
	RET

// func sigmoidAVX2(dst, x *float32, n int)
//
// dst[i] = 1 / (1 + exp(-x[i])) for n a multiple of 8; dst may alias x.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ   dst+0(FP), DX
	MOVQ   x+8(FP), SI
	MOVQ   n+16(FP), CX
	VXORPS Y6, Y6, Y6
	VMOVUPS expOne<>(SB), Y7

sgloop:
	CMPQ    CX, $8
	JLT     sgdone
	VSUBPS  (SI), Y6, Y0
	EXP8
	VADDPS  Y7, Y0, Y0
	VDIVPS  Y0, Y7, Y0
	VMOVUPS Y0, (DX)
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     sgloop

sgdone:
	VZEROUPPER
	RET
