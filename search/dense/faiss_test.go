package dense

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// faissFile writes vecs as faiss.write_index writes an IndexFlatIP.
func faissFile(fourcc string, vecs [][]float32) []byte {
	le := binary.LittleEndian
	d := len(vecs[0])
	b := []byte(fourcc)
	b = le.AppendUint32(b, uint32(d))
	b = le.AppendUint64(b, uint64(len(vecs)))
	b = le.AppendUint64(b, 1<<20)
	b = le.AppendUint64(b, 1<<20)
	b = append(b, 1)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, uint64(len(vecs)*d))
	for _, v := range vecs {
		b = appendF32s(b, v)
	}
	return b
}

func passagesN(n int) iter.Seq2[corpus.Passage, error] {
	return func(yield func(corpus.Passage, error) bool) {
		for i := range n {
			if !yield(corpus.Passage{ID: fmt.Sprint(i), Text: fmt.Sprintf("p%d", i)}, nil) {
				return
			}
		}
	}
}

func TestImportSyntheticFAISS(t *testing.T) {
	t.Parallel()
	vecs := [][]float32{{1, 0, 0}, {0, 1, 0}, {0.5, 0.5, 0.7}}
	path := filepath.Join(t.TempDir(), "x.index")
	if err := os.WriteFile(path, faissFile("IxFI", vecs), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Import(context.Background(), dir, path, passagesN(3), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for i, v := range vecs {
		if diff := cmp.Diff(v, ix.Vector(i)); diff != "" {
			t.Errorf("row %d (-faiss +index):\n%s", i, diff)
		}
	}
	if _, err := Import(context.Background(), t.TempDir(), path, passagesN(4), BuildOptions{}); err == nil || !strings.Contains(err.Error(), "more passages") {
		t.Errorf("4 passages for 3 vectors: err = %v", err)
	}
	if _, err := Import(context.Background(), t.TempDir(), path, passagesN(2), BuildOptions{}); err == nil || !strings.Contains(err.Error(), "2 passages") {
		t.Errorf("2 passages for 3 vectors: err = %v", err)
	}
	l2 := filepath.Join(t.TempDir(), "l2.index")
	os.WriteFile(l2, faissFile("IxF2", vecs), 0o644)
	if _, err := Import(context.Background(), t.TempDir(), l2, passagesN(3), BuildOptions{}); err == nil {
		t.Error("IndexFlatL2 imported without normalisation")
	}
}

func TestParseFAISSFlatHeader(t *testing.T) {
	t.Parallel()
	good := faissFile("IxFI", [][]float32{{1, 2}, {3, 4}})
	h, err := ParseFAISSFlatHeader(good, int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(FAISSHeader{Dim: 2, Count: 2, Metric: "ip", DataOffset: 45}, h); diff != "" {
		t.Error(diff)
	}
	for name, mut := range map[string]func([]byte) ([]byte, int64){
		"fourcc":    func(b []byte) ([]byte, int64) { b[3] = 'X'; return b, int64(len(b)) },
		"truncated": func(b []byte) ([]byte, int64) { return b, int64(len(b) - 4) },
		"count":     func(b []byte) ([]byte, int64) { b[37] = 5; return b, int64(len(b)) },
		"short":     func(b []byte) ([]byte, int64) { return b[:20], 20 },
		"dim": func(b []byte) ([]byte, int64) {
			binary.LittleEndian.PutUint32(b[4:], math.MaxUint32)
			return b, int64(len(b))
		},
	} {
		b, size := mut(append([]byte(nil), good...))
		if _, err := ParseFAISSFlatHeader(b, size); err == nil {
			t.Errorf("%s: header accepted", name)
		}
	}
}

// TestImportSearchR1E5 imports the shared real e5 vectors (Search-R1's
// e5_Flat.index layout) with their wiki-18 passages and checks the
// approximate search against exact search, each passage as a query.
func TestImportSearchR1E5(t *testing.T) {
	t.Parallel()
	fpath := shareddata.Path(t, "corpus/wiki18_sample_1000.e5.faissflat")
	cpath := shareddata.Path(t, "corpus/wiki18_sample_1000.jsonl")
	r, err := corpus.Open(cpath, corpus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	st, err := Import(context.Background(), dir, fpath, readerSeq(r), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 1000 || st.Dim != 768 {
		t.Fatalf("imported %+v", st)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	p, _ := ix.Passage(0)
	if p.ID == "" || p.Text == "" {
		t.Errorf("passage 0 = %+v", p)
	}
	ff, err := OpenFAISSFlat(fpath)
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	hit, total := 0, 0
	for i := range 1000 {
		q := ff.Vector(i)
		ex, _ := ix.Search(q, 11, SearchOptions{Exact: true})
		if ex[0].Doc != i || math.Abs(float64(ex[0].Score)-1) > 1e-3 {
			t.Fatalf("passage %d: exact top hit %+v, want itself at cosine 1", i, ex[0])
		}
		ap, err := ix.Search(q, 11, SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := map[int]bool{}
		for _, s := range ex[1:] {
			in[s.Doc] = true
		}
		for _, s := range ap {
			if s.Doc != i && in[s.Doc] {
				hit++
			}
		}
		total += 10
	}
	recall := float64(hit) / float64(total)
	t.Logf("recall@10 (itself excluded) on 1,000 e5 passages: %.4f", recall)
	if recall < 0.95 {
		t.Errorf("recall@10 %.4f, want ≥ 0.95", recall)
	}
}

func readerSeq(r *corpus.Reader) iter.Seq2[corpus.Passage, error] {
	return func(yield func(corpus.Passage, error) bool) {
		for {
			p, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(p, err) || err != nil {
				return
			}
		}
	}
}

func FuzzParseFAISSFlatHeader(f *testing.F) {
	good := faissFile("IxFI", [][]float32{{1, 2}, {3, 4}})
	f.Add(good[:64], int64(len(good)))
	f.Add(faissFile("IxF2", [][]float32{{1}})[:45], int64(49))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		if len(b) > 256 {
			return
		}
		h, err := ParseFAISSFlatHeader(b, size)
		if err != nil {
			return
		}
		if h.Dim <= 0 || h.Count < 0 || h.DataOffset+4*int64(h.Dim)*int64(h.Count) != size {
			t.Fatalf("accepted header %+v for a file of %d bytes", h, size)
		}
	})
}
