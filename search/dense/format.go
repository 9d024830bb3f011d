package dense

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

const (
	formatVersion = 1
	metaFile      = "meta.json"
	vectorsFile   = "vectors.f32"
	centroidsFile = "centroids.f32"
	listsFile     = "lists.off"
	rowsFile      = "rows.u32"
	scalesFile    = "scales.f32"
	codesFile     = "codes.bin"
	docsFile      = "docs.bin"
	offsetsFile   = "docs.off"
)

// errCorrupt marks an index whose files disagree with its meta.json.
var errCorrupt = errors.New("corrupt dense index")

// meta is meta.json.
type meta struct {
	Version    int  `json:"version"`
	Dim        int  `json:"dim"`
	Count      int  `json:"count"`
	Lists      int  `json:"lists"`
	Normalized bool `json:"normalized"`
	// Metric is "ip" (inner product, cosine when normalized).
	Metric string `json:"metric"`
}

// words is the number of uint64 code words of a dim-dimensional vector.
func words(dim int) int { return (dim + 63) / 64 }

func isLittleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// f32s views b (4-byte aligned, little-endian host) as float32s.
func f32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// u64s views b (8-byte aligned, little-endian host) as uint64s.
func u64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// u64Bytes views w as bytes.
func u64Bytes(w []uint64) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 8*len(w))
}

// appendF32s appends v little-endian.
func appendF32s(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// residentBytes is what an open index holds in RAM: per vector its code,
// row and scale; per list its centroid and offset.
func residentBytes(n, dim, nlist int) int64 {
	return int64(n)*int64(8*words(dim)+4+4) + int64(nlist)*int64(4*dim+8) + 8
}

// readF32s decodes little-endian float32s into a fresh slice.
func readF32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
