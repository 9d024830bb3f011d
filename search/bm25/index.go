package bm25

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/sleuth-research/sleuth/corpus"
)

// Index is an open, immutable BM25 index. It is safe for concurrent use;
// Close must not race with searches.
type Index struct {
	path  string
	data  []byte
	unmap func() error
	meta  meta

	termOff  []uint32
	termBlob []byte
	termInfo []byte
	postings []byte
	docLen   []uint32
	idOff    []uint32
	idBlob   []byte
	storeOff []uint64
	store    []byte

	sc       *scorer
	decoder  func() (*zstd.Decoder, error) // made on first passage fetch
	searcher sync.Pool                     // *searcher scratch
}

// Open opens the published generation of the index in dir.
func Open(dir string) (*Index, error) {
	gdir, err := current(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(gdir, manifestFile)); err == nil {
		return nil, fmt.Errorf("open index %s: it is sharded: open it with OpenSharded (as sleuth's --index does)", dir)
	}
	return openFile(filepath.Join(gdir, indexFile))
}

// openFile maps and opens one index file.
func openFile(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("map index %s: %w", path, err)
	}
	ix, err := openBytes(data, true)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	ix.path, ix.unmap = path, unmap
	return ix, nil
}

// openBytes opens an index held in data, checking its structure so that no
// later read can go out of bounds. verify also checks the checksums.
func openBytes(data []byte, verify bool) (*Index, error) {
	if !isLittleEndian() {
		return nil, errors.New("big-endian platforms are not supported")
	}
	data = aligned(data)
	secs, err := parseSections(data, verify)
	if err != nil {
		return nil, err
	}
	ix := &Index{data: data, unmap: func() error { return nil }}
	if err := json.Unmarshal(secs[secMeta], &ix.meta); err != nil {
		return nil, fmt.Errorf("%w: meta: %v", errCorrupt, err)
	}
	m := &ix.meta
	if _, err := m.BM25.resolve(); err != nil || m.BM25 == (Params{}) {
		return nil, fmt.Errorf("%w: meta: bad BM25 parameters %+v", errCorrupt, m.BM25)
	}
	if m.Passages < 0 || m.Terms < 0 || m.StoreBlock <= 0 || m.MaxStoreRaw < 0 || m.MaxStoreRaw > 1<<40 || !(m.AvgDL > 0) || math.IsInf(m.AvgDL, 0) ||
		m.StoreBlocks != (m.Passages+m.StoreBlock-1)/m.StoreBlock || m.Passages >= math.MaxUint32 {
		return nil, fmt.Errorf("%w: meta: inconsistent counts", errCorrupt)
	}
	ix.termOff, ix.termBlob = u32s(secs[secTermOff]), secs[secTermBlob]
	ix.termInfo, ix.postings = secs[secTermInfo], secs[secPostings]
	ix.docLen, ix.idOff, ix.idBlob = u32s(secs[secDocLen]), u32s(secs[secIDOff]), secs[secIDBlob]
	ix.storeOff, ix.store = u64s(secs[secStoreOff]), secs[secStoreBlob]
	switch {
	case len(secs[secTermOff]) != 4*(m.Terms+1) || !monotone32(ix.termOff, len(ix.termBlob)):
		return nil, fmt.Errorf("%w: term offsets", errCorrupt)
	case len(ix.termInfo) != termInfoSize*m.Terms:
		return nil, fmt.Errorf("%w: term info", errCorrupt)
	case len(secs[secDocLen]) != 4*m.Passages:
		return nil, fmt.Errorf("%w: doc lengths", errCorrupt)
	case len(secs[secIDOff]) != 4*(m.Passages+1) || !monotone32(ix.idOff, len(ix.idBlob)):
		return nil, fmt.Errorf("%w: id offsets", errCorrupt)
	case len(secs[secStoreOff]) != 8*(m.StoreBlocks+1) || !monotone64(ix.storeOff, len(ix.store)):
		return nil, fmt.Errorf("%w: store offsets", errCorrupt)
	}
	if err := ix.checkTerms(); err != nil {
		return nil, err
	}
	ix.sc = newScorer(m.BM25, m.AvgDL, ix.docLen)
	ix.decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		limit := uint64(max(m.MaxStoreRaw, 1<<20)) + 1<<20
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(limit),
			zstd.WithDecoderMaxWindow(limit))
	})
	return ix, nil
}

// checkTerms checks every term's postings header on all cores, so that
// searches can trust them without checks.
func (ix *Index) checkTerms() error {
	workers := min(runtime.GOMAXPROCS(0), max(1, ix.meta.Terms/4096))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := w; t < ix.meta.Terms; t += workers {
				if _, err := ix.termPostings(t, true); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func monotone32(off []uint32, end int) bool {
	if len(off) == 0 || off[0] != 0 || int(off[len(off)-1]) != end {
		return false
	}
	for i := 1; i < len(off); i++ {
		if off[i] < off[i-1] {
			return false
		}
	}
	return true
}

func monotone64(off []uint64, end int) bool {
	if len(off) == 0 || off[0] != 0 || off[len(off)-1] != uint64(end) {
		return false
	}
	for i := 1; i < len(off); i++ {
		if off[i] < off[i-1] {
			return false
		}
	}
	return true
}

// Close releases the mapping. Hits already returned stay valid: they hold
// copies.
func (ix *Index) Close() error {
	if dec, err := ix.decoder(); err == nil {
		dec.Close()
	}
	if err := ix.unmap(); err != nil {
		return fmt.Errorf("close index %s: %w", ix.path, err)
	}
	return nil
}

// Len returns the number of passages.
func (ix *Index) Len() int { return ix.meta.Passages }

// NumTerms returns the number of distinct terms.
func (ix *Index) NumTerms() int { return ix.meta.Terms }

// Analyzer returns the analysis the index was built (and is queried) with.
func (ix *Index) Analyzer() AnalyzerConfig { return ix.meta.Analyzer }

// BM25 returns the scoring parameters recorded in the index.
func (ix *Index) BM25() Params { return ix.meta.BM25 }

// Size returns the index file's size in bytes.
func (ix *Index) Size() int64 { return int64(len(ix.data)) }

func (ix *Index) info(t int) termInfo {
	b := ix.termInfo[t*termInfoSize:]
	return termInfo{
		DF: binary.LittleEndian.Uint32(b), Blocks: binary.LittleEndian.Uint32(b[4:]),
		Offset: binary.LittleEndian.Uint64(b[8:]), MaxScore: math.Float32frombits(binary.LittleEndian.Uint32(b[16:])),
		IDF: math.Float32frombits(binary.LittleEndian.Uint32(b[20:])),
	}
}

// termPostings returns the view of term t's postings, checking that its
// skip data is in bounds, ascending and below the passage count.
// Open checks every term once, so searches pass check false.
func (ix *Index) termPostings(t int, check bool) (termPostings, error) {
	in := ix.info(t)
	nb := int(in.Blocks)
	bad := func(what string) (termPostings, error) {
		return termPostings{}, fmt.Errorf("%w: postings of term %d: %s", errCorrupt, t, what)
	}
	if in.DF == 0 || nb != (int(in.DF)+blockSize-1)/blockSize || int(in.DF) > ix.meta.Passages {
		return bad("bad document frequency")
	}
	if in.Offset%4 != 0 || in.Offset > uint64(len(ix.postings)) || uint64(len(ix.postings))-in.Offset < uint64(12*nb) {
		return bad("out of bounds")
	}
	b := ix.postings[in.Offset:]
	p := termPostings{postingList: postingList{df: int(in.DF), lastDoc: u32s(b[:4*nb]), blockMax: f32s(b[4*nb : 8*nb]), blockEnd: u32s(b[8*nb : 12*nb])}}
	b = b[12*nb:]
	if len(b) < 24 {
		return bad("out of bounds")
	}
	nc := uint64(binary.LittleEndian.Uint32(b))
	p.tail = math.Float32frombits(binary.LittleEndian.Uint32(b[4:]))
	dbits := binary.LittleEndian.Uint32(b[8:])
	hdf := uint64(binary.LittleEndian.Uint32(b[12:]))
	p.hiCut = math.Float32frombits(binary.LittleEndian.Uint32(b[16:]))
	hlen := uint64(binary.LittleEndian.Uint32(b[20:]))
	b = b[24:]
	hnb := (hdf + blockSize - 1) / blockSize
	if dbits != 0 && dbits != 4 && dbits != 8 {
		return bad("bad dense tf width")
	}
	nd := uint64(denseLen(ix.meta.Passages, int(dbits)))
	if nc > uint64(in.DF) || hdf >= uint64(in.DF) ||
		hlen%4 != 0 || uint64(len(b)) < 8*nc+nd+12*hnb+hlen {
		return bad("out of bounds")
	}
	p.champDoc, p.champW = u32s(b[:4*nc]), f32s(b[4*nc:8*nc])
	if nd > 0 {
		p.dense = newDenseTF(b[8*nc:8*nc+nd], int(dbits))
	}
	b = b[8*nc+nd:]
	if hdf > 0 {
		p.hi = postingList{df: int(hdf), lastDoc: u32s(b[:4*hnb]), blockMax: f32s(b[4*hnb : 8*hnb]),
			blockEnd: u32s(b[8*hnb : 12*hnb]), data: b[12*hnb : 12*hnb+hlen]}
	}
	p.data = b[12*hnb+hlen:]
	if !check {
		p.data = p.data[:p.blockEnd[nb-1]]
		if hdf > 0 {
			p.hi.data = p.hi.data[:p.hi.blockEnd[hnb-1]]
		}
		return p, nil
	}
	if math.IsNaN(float64(p.tail)) || (nc == 0) != (p.tail == 0) {
		return bad("bad champion list")
	}
	for i, d := range p.champDoc {
		w := p.champW[i]
		if int(d) >= ix.meta.Passages || !(w > 0) || w < p.tail ||
			(i > 0 && (w > p.champW[i-1] || w == p.champW[i-1] && d <= p.champDoc[i-1])) {
			return bad("bad champion list")
		}
	}
	if !ix.checkList(&p.postingList) {
		return bad("bad skip data")
	}
	if hdf > 0 && (!(p.hiCut > 0) || math.IsInf(float64(p.hiCut), 0) || !ix.checkList(&p.hi)) {
		return bad("bad high layer")
	}
	return p, nil
}

// checkList checks that p's skip data is ascending, below the passage
// count and within its bytes, and trims p.data to the blocks.
func (ix *Index) checkList(p *postingList) bool {
	prevDoc, prevEnd := int64(-1), uint32(0)
	nb := len(p.lastDoc)
	for i := 0; i < nb; i++ {
		if int64(p.lastDoc[i]) <= prevDoc || int(p.lastDoc[i]) >= ix.meta.Passages || p.blockEnd[i] < prevEnd ||
			int(p.blockEnd[i]) > len(p.data) || math.IsNaN(float64(p.blockMax[i])) {
			return false
		}
		prevDoc, prevEnd = int64(p.lastDoc[i]), p.blockEnd[i]
	}
	if nb > 0 {
		p.data = p.data[:p.blockEnd[nb-1]]
	}
	return true
}

// lookup returns the term id of term, or -1.
func (ix *Index) lookup(term []byte) int {
	n := ix.meta.Terms
	i := sort.Search(n, func(i int) bool {
		return bytes.Compare(ix.termBlob[ix.termOff[i]:ix.termOff[i+1]], term) >= 0
	})
	if i < n && bytes.Equal(ix.termBlob[ix.termOff[i]:ix.termOff[i+1]], term) {
		return i
	}
	return -1
}

// ID returns the id of passage doc (0 <= doc < Len()).
func (ix *Index) ID(doc uint32) string {
	return string(ix.idBlob[ix.idOff[doc]:ix.idOff[doc+1]])
}

// Passage returns stored passage doc (0 <= doc < Len()).
func (ix *Index) Passage(doc uint32) (corpus.Passage, error) {
	if int(doc) >= ix.meta.Passages {
		return corpus.Passage{}, fmt.Errorf("passage %d: out of range (index has %d)", doc, ix.meta.Passages)
	}
	blk := int(doc) / ix.meta.StoreBlock
	dec, err := ix.decoder()
	if err != nil {
		return corpus.Passage{}, fmt.Errorf("index %s: %w", ix.path, err)
	}
	raw, err := dec.DecodeAll(ix.store[ix.storeOff[blk]:ix.storeOff[blk+1]], nil)
	if err != nil {
		return corpus.Passage{}, fmt.Errorf("index %s: %w: store block %d: %v", ix.path, errCorrupt, blk, err)
	}
	r := recReader{b: raw}
	for skip := int(doc) % ix.meta.StoreBlock; skip > 0; skip-- {
		r.passage()
	}
	p := r.passage()
	if r.err != nil {
		return corpus.Passage{}, fmt.Errorf("index %s: %w: store block %d: %v", ix.path, errCorrupt, blk, r.err)
	}
	return p, nil
}

// recReader decodes passage records (see appendPassage).
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) str() string {
	if r.err != nil {
		return ""
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = errors.New("truncated passage record")
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *recReader) passage() corpus.Passage {
	p := corpus.Passage{ID: r.str(), Title: r.str(), Text: r.str()}
	n, k := binary.Uvarint(r.b)
	if r.err == nil && (k <= 0 || n > uint64(len(r.b))) {
		r.err = errors.New("truncated passage record")
	}
	if r.err != nil {
		return p
	}
	r.b = r.b[k:]
	if n > 0 {
		p.Meta = make(map[string]string, n)
		for ; n > 0 && r.err == nil; n-- {
			k := r.str()
			p.Meta[k] = r.str()
		}
	}
	return p
}
