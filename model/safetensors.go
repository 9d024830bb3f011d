package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {…}},
// then the tensor bytes. We read F32, F16 and BF16 and write F32.

// stTensor is one tensor of a parsed file; Data aliases the file bytes.
type stTensor struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
	Data    []byte `json:"-"`
}

const maxSTHeader = 100 << 20

// parseSafetensors indexes data; errors name the offending tensor.
func parseSafetensors(data []byte) (map[string]*stTensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("safetensors: %d bytes, shorter than the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxSTHeader || n > uint64(len(data)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the file (%d bytes)", n, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	body := data[8+n:]
	meta := map[string]string{}
	tensors := map[string]*stTensor{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__: %w", err)
			}
			continue
		}
		t := &stTensor{}
		if err := json.Unmarshal(msg, t); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %s: %w", name, err)
		}
		size := map[string]int{"F32": 4, "F16": 2, "BF16": 2}[t.DType]
		numel := 1
		for _, d := range t.Shape {
			if d < 0 || d > 1<<40 || (d > 0 && numel > (1<<40)/d) {
				return nil, nil, fmt.Errorf("safetensors: tensor %s: bad shape %v", name, t.Shape)
			}
			numel *= d
		}
		b, e := t.Offsets[0], t.Offsets[1]
		switch {
		case size == 0:
			return nil, nil, fmt.Errorf("safetensors: tensor %s: unsupported dtype %q (want F32, F16 or BF16)", name, t.DType)
		case b < 0 || e < b || e > len(body):
			return nil, nil, fmt.Errorf("safetensors: tensor %s: data_offsets [%d,%d) outside the %d data bytes", name, b, e, len(body))
		case e-b != numel*size:
			return nil, nil, fmt.Errorf("safetensors: tensor %s: %d bytes for shape %v of %s", name, e-b, t.Shape, t.DType)
		}
		t.Data = body[b:e]
		tensors[name] = t
	}
	return tensors, meta, nil
}

// decode converts t to float32 into dst (len = number of elements).
func (t *stTensor) decode(dst []float32) {
	switch t.DType {
	case "F32":
		decodeF32(dst, t.Data)
	case "BF16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16)
		}
	case "F16":
		for i := range dst {
			dst[i] = f16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	}
}

// f16ToF32 widens an IEEE half, subnormals and specials included.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			return -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// fillFromSafetensors copies tensors named prefix+Layout names into buf;
// with a nil buf it only checks that they exist with the right shapes.
func fillFromSafetensors(c Config, buf []float32, tensors map[string]*stTensor, prefix string) error {
	for _, ti := range Layout(c) {
		t, ok := tensors[prefix+ti.Name]
		if !ok {
			return fmt.Errorf("missing tensor %s%s", prefix, ti.Name)
		}
		if !slices.Equal(t.Shape, ti.Shape) {
			return fmt.Errorf("tensor %s%s: shape %v, config needs %v", prefix, ti.Name, t.Shape, ti.Shape)
		}
		if buf != nil {
			t.decode(buf[ti.Off : ti.Off+ti.Size])
		}
	}
	return nil
}

// stOut is one tensor to write.
type stOut struct {
	name  string
	shape []int
	data  []float32
}

// hfTensors lists buf's tensors under HF names (with prefix) in the
// rotate-half RoPE layout, permuting q/k rows of an interleaved model.
func hfTensors(c Config, buf []float32, prefix string) []stOut {
	var out []stOut
	for _, ti := range Layout(c) {
		d := buf[ti.Off : ti.Off+ti.Size]
		if c.RopeLayout == RopeInterleaved && (strings.Contains(ti.Name, "q_proj") || strings.Contains(ti.Name, "k_proj")) {
			d = interleavedToHalf(d, c.HeadSize(), ti.Size/ti.Shape[0])
		}
		out = append(out, stOut{prefix + ti.Name, ti.Shape, d})
	}
	return out
}

// interleavedToHalf reorders the rows (of width cols) of a q or k
// projection so pair (2i, 2i+1) of each head becomes (i, i+D/2): the
// same function under rotate-half RoPE.
func interleavedToHalf(w []float32, D, cols int) []float32 {
	out := make([]float32, len(w))
	rows := len(w) / cols
	for r := range rows {
		h, j := r/D, r%D
		dst := h*D + j/2
		if j%2 == 1 {
			dst += D / 2
		}
		copy(out[dst*cols:(dst+1)*cols], w[r*cols:(r+1)*cols])
	}
	return out
}

// writeSafetensors writes tensors as F32 atomically (temp file + rename).
func writeSafetensors(path string, tensors []stOut, meta map[string]string) error {
	header := "{"
	if len(meta) > 0 {
		b, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		header += `"__metadata__":` + string(b) + ","
	}
	off := 0
	for i, t := range tensors {
		shape, _ := json.Marshal(t.shape)
		name, _ := json.Marshal(t.name)
		header += fmt.Sprintf(`%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, off, off+4*len(t.data))
		if i+1 < len(tensors) {
			header += ","
		}
		off += 4 * len(t.data)
	}
	header += "}"
	header += strings.Repeat(" ", (8-len(header)%8)%8) // keep the data 8-byte aligned
	return writeAtomic(path, func(w *bufio.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
		w.Write(n[:])
		w.WriteString(header)
		var b [4]byte
		for _, t := range tensors {
			for _, v := range t.data {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				w.Write(b[:])
			}
		}
		return nil
	})
}

// writeAtomic writes path through the project's one atomic writer (a
// unique temporary file, synced, renamed, the directory synced), so
// readers never see a half-written file.
func writeAtomic(path string, fill func(w *bufio.Writer) error) error {
	return atomicfile.WriteFunc(path, fill)
}
