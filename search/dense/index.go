package dense

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/generation"
)

// Index is an open dense index: codes and mean in memory, vectors and
// passages memory-mapped. It is safe for concurrent use; Close it once no
// search is in flight.
type Index struct {
	dir        string
	dim, n, w  int
	nlist      int
	normalized bool
	codes      []uint64  // n × w by slot, in RAM
	rows       []uint32  // n: the row of each slot
	scales     []float32 // n: each slot's residual scale
	centroids  []float32 // nlist × dim
	listOff    []uint64  // nlist+1
	vectors    []float32 // n × dim, mapped
	docs       []byte    // mapped
	offsets    []uint64  // n+1, mapped
	closers    []func() error
}

// Open opens the published generation of the index in dir.
func Open(dir string) (*Index, error) {
	if !isLittleEndian() {
		return nil, errors.New("dense index: big-endian hosts are not supported")
	}
	gdir, err := generation.Current(dir)
	if err != nil {
		return nil, err
	}
	mb, err := os.ReadFile(filepath.Join(gdir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("open dense index %s: %w", dir, err)
	}
	var m meta
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("open dense index %s: %w: meta.json: %w", dir, errCorrupt, err)
	}
	if m.Version != formatVersion || m.Dim <= 0 || m.Count < 0 || m.Metric != "ip" {
		return nil, fmt.Errorf("open dense index %s: %w: meta %+v", dir, errCorrupt, m)
	}
	ix := &Index{dir: dir, dim: m.Dim, n: m.Count, w: words(m.Dim), normalized: m.Normalized}
	ok := false
	defer func() {
		if !ok {
			ix.Close()
		}
	}()
	if m.Lists < 1 || m.Lists > max(1, m.Count) {
		return nil, fmt.Errorf("open dense index %s: %w: %d lists for %d vectors", dir, errCorrupt, m.Lists, m.Count)
	}
	ix.nlist = m.Lists
	read := func(name string, want int) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(gdir, name))
		if err != nil {
			return nil, fmt.Errorf("open dense index %s: %w", dir, err)
		}
		if len(b) != want {
			return nil, fmt.Errorf("open dense index %s: %w: %s has %d bytes, want %d", dir, errCorrupt, name, len(b), want)
		}
		return b, nil
	}
	// Each file is copied into a slice of its own type, so the words are
	// aligned whatever ReadFile gave.
	b, err := read(codesFile, 8*ix.n*ix.w)
	if err != nil {
		return nil, err
	}
	ix.codes = make([]uint64, ix.n*ix.w)
	copy(u64Bytes(ix.codes), b)
	if b, err = read(listsFile, 8*(ix.nlist+1)); err != nil {
		return nil, err
	}
	ix.listOff = make([]uint64, ix.nlist+1)
	copy(u64Bytes(ix.listOff), b)
	for l := range ix.nlist {
		if ix.listOff[l] > ix.listOff[l+1] {
			return nil, fmt.Errorf("open dense index %s: %w: lists.off not increasing at %d", dir, errCorrupt, l)
		}
	}
	if ix.listOff[0] != 0 || ix.listOff[ix.nlist] != uint64(ix.n) {
		return nil, fmt.Errorf("open dense index %s: %w: lists.off does not span the vectors", dir, errCorrupt)
	}
	if b, err = read(rowsFile, 4*ix.n); err != nil {
		return nil, err
	}
	ix.rows = make([]uint32, ix.n)
	for i := range ix.rows {
		ix.rows[i] = binary.LittleEndian.Uint32(b[4*i:])
		if int(ix.rows[i]) >= ix.n {
			return nil, fmt.Errorf("open dense index %s: %w: rows.u32 names row %d of %d", dir, errCorrupt, ix.rows[i], ix.n)
		}
	}
	if b, err = read(scalesFile, 4*ix.n); err != nil {
		return nil, err
	}
	ix.scales = readF32s(b)
	if b, err = read(centroidsFile, 4*ix.nlist*ix.dim); err != nil {
		return nil, err
	}
	ix.centroids = readF32s(b)
	vb, err := ix.mapFile(filepath.Join(gdir, vectorsFile), int64(4*ix.n*ix.dim))
	if err != nil {
		return nil, err
	}
	ix.vectors = f32s(vb)
	if ix.docs, err = ix.mapFile(filepath.Join(gdir, docsFile), -1); err != nil {
		return nil, err
	}
	ob, err := ix.mapFile(filepath.Join(gdir, offsetsFile), int64(8*(ix.n+1)))
	if err != nil {
		return nil, err
	}
	ix.offsets = u64s(ob)
	for i := range ix.n {
		if ix.offsets[i] > ix.offsets[i+1] {
			return nil, fmt.Errorf("open dense index %s: %w: docs.off not increasing at %d", dir, errCorrupt, i)
		}
	}
	if ix.offsets[0] != 0 || ix.offsets[ix.n] != uint64(len(ix.docs)) {
		return nil, fmt.Errorf("open dense index %s: %w: docs.off does not span docs.bin", dir, errCorrupt)
	}
	ok = true
	return ix, nil
}

// mapFile maps path, checking its size when want ≥ 0.
func (ix *Index) mapFile(path string, want int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open dense index %s: %w", ix.dir, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open dense index %s: %w", ix.dir, err)
	}
	if want >= 0 && st.Size() != want {
		return nil, fmt.Errorf("open dense index %s: %w: %s has %d bytes, want %d", ix.dir, errCorrupt, filepath.Base(path), st.Size(), want)
	}
	b, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("open dense index %s: map %s: %w", ix.dir, filepath.Base(path), err)
	}
	ix.closers = append(ix.closers, unmap)
	return b, nil
}

// Close unmaps the index's files.
func (ix *Index) Close() error {
	var first error
	for _, c := range ix.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	ix.closers = nil
	return first
}

// Len is the number of vectors.
func (ix *Index) Len() int { return ix.n }

// Dim is the vectors' dimension.
func (ix *Index) Dim() int { return ix.dim }

// Normalized reports whether vectors (and so queries) are unit length.
func (ix *Index) Normalized() bool { return ix.normalized }

// ResidentBytes is what the index keeps in RAM itself: codes, rows,
// scales, centroids and list offsets. Mapped pages of vectors and passages
// come and go with the page cache.
func (ix *Index) ResidentBytes() int64 { return residentBytes(ix.n, ix.dim, ix.nlist) }

// Lists is the number of inverted lists.
func (ix *Index) Lists() int { return ix.nlist }

// Vector returns row i of the mapped vectors; do not modify it.
func (ix *Index) Vector(i int) []float32 { return ix.vectors[i*ix.dim : (i+1)*ix.dim] }

// Passage decodes passage i.
func (ix *Index) Passage(i int) (corpus.Passage, error) {
	if i < 0 || i >= ix.n {
		return corpus.Passage{}, fmt.Errorf("dense index %s: passage %d out of range [0,%d)", ix.dir, i, ix.n)
	}
	var p corpus.Passage
	if err := json.Unmarshal(ix.docs[ix.offsets[i]:ix.offsets[i+1]], &p); err != nil {
		return corpus.Passage{}, fmt.Errorf("dense index %s: %w: passage %d: %w", ix.dir, errCorrupt, i, err)
	}
	return p, nil
}
