package dense

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"os"

	"github.com/sleuth-research/sleuth/corpus"
)

// FAISSHeader describes a FAISS flat index file: IndexFlatIP ("IxFI") or
// IndexFlatL2 ("IxF2") as faiss.write_index writes them.
type FAISSHeader struct {
	Dim, Count int
	// Metric is "ip" or "l2".
	Metric string
	// DataOffset is where the count·dim little-endian float32s begin.
	DataOffset int64
}

// ParseFAISSFlatHeader reads the header at the start of a FAISS flat file:
// fourcc, d int32, ntotal int64, two unused int64, is_trained uint8,
// metric_type int32 (and metric_arg float32 when metric_type > 1), then the
// vector's length in floats (uint64, ntotal·d) before the floats. size is
// the file's size, checked against what the header promises.
func ParseFAISSFlatHeader(b []byte, size int64) (FAISSHeader, error) {
	const fixed = 4 + 4 + 8 + 8 + 8 + 1 + 4
	if len(b) < fixed+8 {
		return FAISSHeader{}, fmt.Errorf("faiss flat: header of %d bytes is too short", len(b))
	}
	var h FAISSHeader
	switch string(b[:4]) {
	case "IxFI":
		h.Metric = "ip"
	case "IxF2":
		h.Metric = "l2"
	default:
		return FAISSHeader{}, fmt.Errorf("faiss flat: fourcc %q is not IxFI (IndexFlatIP) or IxF2 (IndexFlatL2)", b[:4])
	}
	le := binary.LittleEndian
	d := int32(le.Uint32(b[4:]))
	n := int64(le.Uint64(b[8:]))
	metric := int32(le.Uint32(b[33:]))
	off := int64(fixed)
	if metric > 1 {
		off += 4
	}
	if int64(len(b)) < off+8 {
		return FAISSHeader{}, fmt.Errorf("faiss flat: header of %d bytes is too short", len(b))
	}
	floats := le.Uint64(b[off:])
	off += 8
	if d <= 0 || d > 1<<16 || n < 0 || n > 1<<40 {
		return FAISSHeader{}, fmt.Errorf("faiss flat: implausible d=%d ntotal=%d", d, n)
	}
	if floats != uint64(n)*uint64(d) {
		return FAISSHeader{}, fmt.Errorf("faiss flat: %d floats stored, want ntotal·d = %d·%d", floats, n, d)
	}
	if want := off + 4*int64(floats); size != want {
		return FAISSHeader{}, fmt.Errorf("faiss flat: file has %d bytes, header promises %d", size, want)
	}
	h.Dim, h.Count, h.DataOffset = int(d), int(n), off
	return h, nil
}

// FAISSFlat is an open FAISS flat file, its vectors memory-mapped.
type FAISSFlat struct {
	Header FAISSHeader
	data   []byte
	unmap  func() error
}

// OpenFAISSFlat maps a FAISS IndexFlatIP/IndexFlatL2 file.
func OpenFAISSFlat(path string) (*FAISSFlat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("faiss flat: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("faiss flat %s: %w", path, err)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("faiss flat %s: map: %w", path, err)
	}
	h, err := ParseFAISSFlatHeader(data[:min(len(data), 64)], st.Size())
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &FAISSFlat{Header: h, data: data, unmap: unmap}, nil
}

// Vector returns a copy of row i.
func (f *FAISSFlat) Vector(i int) []float32 {
	d := f.Header.Dim
	row := f.data[f.Header.DataOffset+int64(4*d*i):]
	v := make([]float32, d)
	for j := range v {
		v[j] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*j:]))
	}
	return v
}

// Close unmaps the file.
func (f *FAISSFlat) Close() error { return f.unmap() }

// Import builds a dense index in dir from the FAISS flat file at path and
// passages in the same row order (Search-R1 ships e5_Flat.index with the
// wiki-18 JSONL it was built from). The counts must agree. An IndexFlatL2
// file is accepted only with opt.Normalize, where L2 and inner-product
// rankings coincide.
func Import(ctx context.Context, dir, path string, passages iter.Seq2[corpus.Passage, error], opt BuildOptions) (Stats, error) {
	ff, err := OpenFAISSFlat(path)
	if err != nil {
		return Stats{}, err
	}
	defer ff.Close()
	if ff.Header.Metric == "l2" && !opt.Normalize {
		return Stats{}, fmt.Errorf("import %s: an IndexFlatL2 file ranks by distance; import it with normalisation to rank by cosine", path)
	}
	var countErr error
	items := func(yield func(Item, error) bool) {
		i := 0
		for p, err := range passages {
			if err != nil {
				yield(Item{}, err)
				return
			}
			if i == ff.Header.Count {
				countErr = fmt.Errorf("import %s: the corpus has more passages than the index's %d vectors", path, ff.Header.Count)
				yield(Item{}, countErr)
				return
			}
			if !yield(Item{Passage: p, Vector: ff.Vector(i)}, nil) {
				return
			}
			i++
		}
		if i != ff.Header.Count {
			countErr = fmt.Errorf("import %s: the corpus has %d passages, the index %d vectors", path, i, ff.Header.Count)
			yield(Item{}, countErr)
		}
	}
	return Build(ctx, dir, ff.Header.Dim, items, opt)
}
