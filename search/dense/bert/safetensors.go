package bert

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// tensor is one float32 tensor read from a safetensors file.
type tensor struct {
	Shape []int
	Data  []float32
}

// readSafetensors reads every tensor of a safetensors file (8-byte
// little-endian header length, a JSON header of name → dtype, shape,
// data_offsets, then the data) as float32. F32, F16 and BF16 are read.
func readSafetensors(path string) (map[string]tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	ts, err := parseSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return ts, nil
}

func parseSafetensors(b []byte) (map[string]tensor, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file of %d bytes has no header", len(b))
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > uint64(len(b)-8) || hl > 100<<20 {
		return nil, fmt.Errorf("header length %d past the end of the file", hl)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	data := b[8+hl:]
	names := make([]string, 0, len(header))
	for name := range header {
		if name != "__metadata__" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make(map[string]tensor, len(names))
	for _, name := range names {
		var h struct {
			Dtype       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(header[name], &h); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		n := 1
		for _, d := range h.Shape {
			if d < 0 || d > 1<<31 || (d > 0 && n > math.MaxInt32/d) {
				return nil, fmt.Errorf("tensor %s: shape %v", name, h.Shape)
			}
			n *= d
		}
		width := map[string]int{"F32": 4, "F16": 2, "BF16": 2}[h.Dtype]
		if width == 0 {
			return nil, fmt.Errorf("tensor %s: dtype %s (want F32, F16 or BF16)", name, h.Dtype)
		}
		if len(h.DataOffsets) != 2 || h.DataOffsets[0] > h.DataOffsets[1] || h.DataOffsets[1] > uint64(len(data)) ||
			h.DataOffsets[1]-h.DataOffsets[0] != uint64(n*width) {
			return nil, fmt.Errorf("tensor %s: data_offsets %v for %d %s values in %d bytes", name, h.DataOffsets, n, h.Dtype, len(data))
		}
		raw := data[h.DataOffsets[0]:h.DataOffsets[1]]
		v := make([]float32, n)
		for i := range v {
			switch h.Dtype {
			case "F32":
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			case "BF16":
				v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
			case "F16":
				v[i] = f16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		}
		out[name] = tensor{Shape: h.Shape, Data: v}
	}
	return out, nil
}

// f16 converts an IEEE half to float32.
func f16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(mant) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
