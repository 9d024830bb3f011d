package dense

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	Count int
	Dim   int
	// Bytes on disk of the published generation; RAMBytes of it kept in
	// memory when open (codes and mean).
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
	n, mean, err := writeVectors(ctx, gdir, dim, items, opt)
	if err != nil {
		return Stats{}, fmt.Errorf("build %s: %w", dir, err)
	}
	if err := writeCodes(ctx, gdir, dim, n, mean); err != nil {
		return Stats{}, fmt.Errorf("build %s: %w", dir, err)
	}
	m := meta{Version: formatVersion, Dim: dim, Count: n, Normalized: opt.Normalize, Metric: "ip"}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := writeSynced(filepath.Join(gdir, metaFile), append(mb, '\n')); err != nil {
		return Stats{}, err
	}
	if err := generation.Publish(dir, gen); err != nil {
		return Stats{}, err
	}
	ok = true
	st := Stats{Count: n, Dim: dim, Elapsed: time.Since(start), RAMBytes: int64(n*words(dim)*8 + dim*4)}
	ents, _ := os.ReadDir(gdir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			st.Bytes += info.Size()
		}
	}
	return st, nil
}

// writeVectors streams vectors, passages and offsets to gdir and returns
// the count and the mean vector.
func writeVectors(ctx context.Context, gdir string, dim int, items iter.Seq2[Item, error], opt BuildOptions) (int, []float32, error) {
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
			return 0, nil, err
		}
		opened = append(opened, f)
		files[name] = bufio.NewWriterSize(f, 1<<20)
	}
	vw, dw, ow := files[vectorsFile], files[docsFile], files[offsetsFile]
	sum := make([]float64, dim)
	var off uint64
	var scratch []byte
	n := 0
	writeOff := func() error {
		_, err := ow.Write(binary.LittleEndian.AppendUint64(scratch[:0], off))
		return err
	}
	if err := writeOff(); err != nil {
		return 0, nil, err
	}
	for it, err := range items {
		if err != nil {
			return 0, nil, err
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, nil, err
			}
			if opt.Progress != nil && n > 0 {
				opt.Progress(n)
			}
		}
		v := it.Vector
		if len(v) != dim {
			return 0, nil, fmt.Errorf("passage %q: vector of dimension %d, index has %d", it.Passage.ID, len(v), dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return 0, nil, fmt.Errorf("passage %q: vector holds %v", it.Passage.ID, x)
			}
		}
		if opt.Normalize {
			v = append([]float32(nil), v...)
			Normalize(v)
		}
		for j, x := range v {
			sum[j] += float64(x)
		}
		scratch = appendF32s(scratch[:0], v)
		if _, err := vw.Write(scratch); err != nil {
			return 0, nil, err
		}
		doc, err := json.Marshal(it.Passage)
		if err != nil {
			return 0, nil, fmt.Errorf("passage %q: %w", it.Passage.ID, err)
		}
		if _, err := dw.Write(doc); err != nil {
			return 0, nil, err
		}
		off += uint64(len(doc))
		if err := writeOff(); err != nil {
			return 0, nil, err
		}
		n++
	}
	for i, name := range []string{vectorsFile, docsFile, offsetsFile} {
		if err := files[name].Flush(); err != nil {
			return 0, nil, err
		}
		if err := opened[i].Sync(); err != nil {
			return 0, nil, err
		}
	}
	mean := make([]float32, dim)
	if n > 0 {
		for j := range mean {
			mean[j] = float32(sum[j] / float64(n))
		}
	}
	if err := writeSynced(filepath.Join(gdir, meanFile), appendF32s(nil, mean)); err != nil {
		return 0, nil, err
	}
	return n, mean, nil
}

// writeCodes reads vectors.f32 back and writes every vector's sign code.
func writeCodes(ctx context.Context, gdir string, dim, n int, mean []float32) error {
	in, err := os.Open(filepath.Join(gdir, vectorsFile))
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(gdir, codesFile))
	if err != nil {
		return err
	}
	defer out.Close()
	br := bufio.NewReaderSize(in, 1<<20)
	bw := bufio.NewWriterSize(out, 1<<20)
	row := make([]byte, 4*dim)
	vec := make([]float32, dim)
	code := make([]uint64, words(dim))
	var cb []byte
	for i := range n {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if _, err := io.ReadFull(br, row); err != nil {
			return fmt.Errorf("re-read vector %d: %w", i, err)
		}
		for j := range vec {
			vec[j] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*j:]))
		}
		signCode(code, vec, mean)
		cb = cb[:0]
		for _, w := range code {
			cb = binary.LittleEndian.AppendUint64(cb, w)
		}
		if _, err := bw.Write(cb); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Sync()
}

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
