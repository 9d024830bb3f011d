package dense

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/sleuth-research/sleuth/internal/generation"
)

// BuildOptions tune Build.
type BuildOptions struct {
	// Normalize scales every vector to unit length before it is stored, and
	// queries likewise at search time, so inner product is cosine.
	Normalize bool
	// Progress, when set, is called from the building goroutine with the
	// number of vectors written so far.
	Progress func(done int)
}

// Stats describes a finished build.
type Stats struct {
	Count, Dim int
	// Lists is the number of inverted lists (k-means centroids).
	Lists int
	// Bytes on disk of the published generation; RAMBytes of it kept in
	// memory when open (codes, rows, scales, centroids, list offsets).
	Bytes, RAMBytes int64
	Elapsed         time.Duration
}

// Build writes items (all of dimension dim) as a new generation of the
// index in dir and publishes it atomically. On any error, cancellation or
// kill, the previously published index stays as it was. Memory use is
// bounded by the write buffers: vectors stream to disk and the codes are
// computed in a second pass over the written file.
func Build(ctx context.Context, dir string, dim int, items iter.Seq2[Item, error], opt BuildOptions) (Stats, error) {
	start := time.Now()
	if dim <= 0 {
		return Stats{}, fmt.Errorf("build %s: dimension %d", dir, dim)
	}
	if !isLittleEndian() {
		return Stats{}, errors.New("dense index: big-endian hosts are not supported")
	}
	gen, gdir, err := generation.Next(dir)
	if err != nil {
		return Stats{}, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(gdir)
		}
	}()
	n, err := writeVectors(ctx, gdir, dim, items, opt)
	if err != nil {
		return Stats{}, fmt.Errorf("build %s: %w", dir, err)
	}
	nlist, err := writeCodes(ctx, gdir, dim, n)
	if err != nil {
		return Stats{}, fmt.Errorf("build %s: %w", dir, err)
	}
	m := meta{Version: formatVersion, Dim: dim, Count: n, Lists: nlist, Normalized: opt.Normalize, Metric: "ip"}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := writeSynced(filepath.Join(gdir, metaFile), append(mb, '\n')); err != nil {
		return Stats{}, err
	}
	if err := generation.Publish(dir, gen); err != nil {
		return Stats{}, err
	}
	ok = true
	st := Stats{Count: n, Dim: dim, Lists: nlist, Elapsed: time.Since(start), RAMBytes: residentBytes(n, dim, nlist)}
	ents, _ := os.ReadDir(gdir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			st.Bytes += info.Size()
		}
	}
	return st, nil
}

// writeVectors streams vectors, passages and offsets to gdir and returns
// the count.
func writeVectors(ctx context.Context, gdir string, dim int, items iter.Seq2[Item, error], opt BuildOptions) (int, error) {
	files := map[string]*bufio.Writer{}
	var opened []*os.File
	defer func() {
		for _, f := range opened {
			f.Close()
		}
	}()
	for _, name := range []string{vectorsFile, docsFile, offsetsFile} {
		f, err := os.Create(filepath.Join(gdir, name))
		if err != nil {
			return 0, err
		}
		opened = append(opened, f)
		files[name] = bufio.NewWriterSize(f, 1<<20)
	}
	vw, dw, ow := files[vectorsFile], files[docsFile], files[offsetsFile]
	var off uint64
	var scratch []byte
	n := 0
	writeOff := func() error {
		_, err := ow.Write(binary.LittleEndian.AppendUint64(scratch[:0], off))
		return err
	}
	if err := writeOff(); err != nil {
		return 0, err
	}
	for it, err := range items {
		if err != nil {
			return 0, err
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if opt.Progress != nil && n > 0 {
				opt.Progress(n)
			}
		}
		v := it.Vector
		if len(v) != dim {
			return 0, fmt.Errorf("passage %q: vector of dimension %d, index has %d", it.Passage.ID, len(v), dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return 0, fmt.Errorf("passage %q: vector holds %v", it.Passage.ID, x)
			}
		}
		if opt.Normalize {
			v = append([]float32(nil), v...)
			Normalize(v)
		}
		scratch = appendF32s(scratch[:0], v)
		if _, err := vw.Write(scratch); err != nil {
			return 0, err
		}
		doc, err := json.Marshal(it.Passage)
		if err != nil {
			return 0, fmt.Errorf("passage %q: %w", it.Passage.ID, err)
		}
		if _, err := dw.Write(doc); err != nil {
			return 0, err
		}
		off += uint64(len(doc))
		if err := writeOff(); err != nil {
			return 0, err
		}
		n++
	}
	for i, name := range []string{vectorsFile, docsFile, offsetsFile} {
		if err := files[name].Flush(); err != nil {
			return 0, err
		}
		if err := opened[i].Sync(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// writeCodes maps vectors.f32 back, trains the lists' centroids, assigns
// every vector to its nearest, and writes the lists: centroids, list
// offsets, and per slot (vectors grouped by list) the row, the residual's
// scale and its sign code. It returns the number of lists.
func writeCodes(ctx context.Context, gdir string, dim, n int) (int, error) {
	f, err := os.Open(filepath.Join(gdir, vectorsFile))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	vb, unmap, err := mapFile(f, int64(4*n*dim))
	if err != nil {
		return 0, fmt.Errorf("map vectors: %w", err)
	}
	defer unmap()
	vecs := f32s(vb)
	nlist := listCount(n)
	var cent []float32
	assign := make([]int32, n)
	if nlist == 1 {
		cent = make([]float32, dim) // the mean
		sum := make([]float64, dim)
		for i := range n {
			for j, v := range vecs[i*dim : (i+1)*dim] {
				sum[j] += float64(v)
			}
		}
		for j := range cent {
			if n > 0 {
				cent[j] = float32(sum[j] / float64(n))
			}
		}
	} else {
		if cent, err = kmeans(ctx, vecs, n, dim, nlist, 1); err != nil {
			return 0, err
		}
		const chunk = 1 << 14
		for start := 0; start < n; start += chunk {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			m := min(chunk, n-start)
			nearest(assign[start:start+m], vecs[start*dim:(start+m)*dim], m, dim, cent, nlist)
		}
	}
	off := make([]uint64, nlist+1)
	for _, c := range assign {
		off[c+1]++
	}
	for c := range nlist {
		off[c+1] += off[c]
	}
	slotRow := make([]uint32, n)
	next := append([]uint64(nil), off[:nlist]...)
	for i, c := range assign {
		slotRow[next[c]] = uint32(i)
		next[c]++
	}
	w := words(dim)
	codes := make([]uint64, 0, 1<<16)
	var scales []float32
	cw, err := newSyncedWriter(filepath.Join(gdir, codesFile))
	if err != nil {
		return 0, err
	}
	defer cw.close()
	code := make([]uint64, w)
	sqrtD := float32(math.Sqrt(float64(dim)))
	for s, row := range slotRow {
		if s%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		c := assign[row]
		norm, fac := residualCode(code, vecs[int(row)*dim:(int(row)+1)*dim], cent[int(c)*dim:(int(c)+1)*dim])
		scales = append(scales, norm/(fac*sqrtD))
		codes = append(codes, code...)
		if len(codes) >= 1<<16 {
			if _, err := cw.Write(u64Bytes(codes)); err != nil {
				return 0, err
			}
			codes = codes[:0]
		}
	}
	if _, err := cw.Write(u64Bytes(codes)); err != nil {
		return 0, err
	}
	if err := cw.finish(); err != nil {
		return 0, err
	}
	rowBytes := make([]byte, 0, 4*n)
	for _, r := range slotRow {
		rowBytes = binary.LittleEndian.AppendUint32(rowBytes, r)
	}
	offBytes := make([]byte, 0, 8*len(off))
	for _, o := range off {
		offBytes = binary.LittleEndian.AppendUint64(offBytes, o)
	}
	for name, b := range map[string][]byte{
		centroidsFile: appendF32s(nil, cent),
		listsFile:     offBytes,
		rowsFile:      rowBytes,
		scalesFile:    appendF32s(nil, scales),
	} {
		if err := writeSynced(filepath.Join(gdir, name), b); err != nil {
			return 0, err
		}
	}
	return nlist, nil
}

// syncedWriter buffers writes to a file it syncs on finish.
type syncedWriter struct {
	f *os.File
	*bufio.Writer
}

func newSyncedWriter(path string) (*syncedWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &syncedWriter{f: f, Writer: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (w *syncedWriter) finish() error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *syncedWriter) close() { w.f.Close() }

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
