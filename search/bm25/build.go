package bm25

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/sleuth-research/sleuth/corpus"
)

// Params are the BM25 parameters. The zero Params means the defaults
// (k1 0.9, b 0.4, as Anserini and Pyserini use); otherwise K1 must be > 0
// and B in [0, 1].
type Params struct {
	K1 float64 `json:"k1"`
	B  float64 `json:"b"`
}

// DefaultParams returns k1 0.9, b 0.4.
func DefaultParams() Params { return Params{K1: 0.9, B: 0.4} }

func (p Params) resolve() (Params, error) {
	if p == (Params{}) {
		return DefaultParams(), nil
	}
	if !(p.K1 > 0) || !(p.B >= 0 && p.B <= 1) || math.IsInf(p.K1, 0) {
		return p, fmt.Errorf("bm25 parameters k1=%v b=%v: need k1 > 0 and 0 <= b <= 1", p.K1, p.B)
	}
	return p, nil
}

// BuildOptions configure Build.
type BuildOptions struct {
	Analyzer AnalyzerConfig
	BM25     Params
	// Workers analyse passages in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called from the building goroutine with the
	// number of passages indexed so far.
	Progress func(done int)
	// MergeProgress, when set, is called from the building goroutine with
	// the passages' postings merged and encoded so far, out of all of
	// them (tokens counted once per distinct term a passage has).
	MergeProgress func(done, total int64)
	// MemBudget bounds the memory the build aims to use, in bytes: the
	// postings held in memory are spilled to a sorted run on disk (inside
	// the generation being written) when their estimated size passes a
	// third of it, and the runs are merged at the end (Go's collector may
	// take twice the live heap; the rest is for the pipeline and the
	// per-passage tables, about 20 bytes and the id's length a passage).
	// 0 means DefaultMemBudget. The index is byte for byte the same
	// whatever the budget.
	MemBudget int64
	// Shards, when more than 1, splits the index into that many shards of
	// consecutive passages (fewer when there are fewer than 8 passages a
	// shard), searched in parallel as one index by OpenSharded. Every
	// shard is weighed with the statistics of the whole corpus, so results
	// equal an unsharded index's, ids and scores. 0 or 1: one index file.
	Shards int
}

// DefaultMemBudget is the build's memory budget when BuildOptions gives none.
const DefaultMemBudget = 1 << 30

// MemBudgetFor is a build's memory budget on a machine of total bytes of
// memory: a quarter of it, between 256 MiB and 4 GiB (4 GiB keeps a
// 21M-passage build near 6 GB resident on a 24 GB machine);
// DefaultMemBudget when total is unknown (≤ 0).
func MemBudgetFor(total int64) int64 {
	if total <= 0 {
		return DefaultMemBudget
	}
	return min(max(total/4, 256<<20), 4<<30)
}

// Stats describe a finished build.
type Stats struct {
	Passages   int     `json:"passages"`
	Terms      int     `json:"terms"`
	Tokens     int64   `json:"tokens"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	Generation string  `json:"generation"`
	// Runs is the number of segments spilled to disk and merged (0 when
	// the postings fitted the memory budget).
	Runs int `json:"runs"`
	// Shards is the number of shards written (0 for an unsharded index).
	Shards int `json:"shards,omitempty"`
}

// meta is the JSON meta section: everything needed to query the index the
// way it was built.
type meta struct {
	Version     int            `json:"version"`
	Analyzer    AnalyzerConfig `json:"analyzer"`
	BM25        Params         `json:"bm25"`
	Passages    int            `json:"passages"`
	Terms       int            `json:"terms"`
	Tokens      int64          `json:"tokens"`
	AvgDL       float64        `json:"avgdl"`
	StoreBlock  int            `json:"store_block"`
	StoreBlocks int            `json:"store_blocks"`
	// MaxStoreRaw is the largest uncompressed store block, which bounds
	// the memory a (possibly corrupt) frame may make the decoder take.
	MaxStoreRaw int `json:"max_store_raw"`
	// Shard is set in the shards of a sharded index: Passages and Terms
	// above count this shard's, while AvgDL and every idf are the whole
	// corpus's.
	Shard *shardMeta `json:"shard,omitempty"`
}

// shardMeta places a shard in its sharded index.
type shardMeta struct {
	Index  int `json:"index"`
	Shards int `json:"shards"`
	// Base is the corpus position of the shard's first passage.
	Base int `json:"base"`
	// Passages and Tokens are the whole corpus's (N for idf, and avgdl).
	Passages int   `json:"passages"`
	Tokens   int64 `json:"tokens"`
}

// storeBlock passages share one zstd frame: small, so that fetching one
// hit's text decompresses a few kilobytes, yet large enough to compress.
const storeBlock = 8

// batchSize passages (a multiple of storeBlock) are the unit of parallel
// analysis.
const batchSize = 16 * storeBlock

// batch is the unit of parallel analysis.
type batch struct {
	seq      int
	passages []corpus.Passage
	// filled in by a worker
	worker   int
	epoch    int      // of the worker's term map
	newTerms []string // the worker's local terms first seen in this batch
	terms    []uint32 // local term ids, per doc in docOff ranges
	tfs      []uint32
	docOff   []int
	docLen   []uint32
	frames   [][]byte // zstd frames of storeBlock passages each
	rawLen   int      // largest uncompressed frame
	err      error
}

// Build indexes passages into a new generation under dir and publishes it
// atomically: readers see either the previous index or the new one, never
// a partial one. A yielded error, or ctx ending, aborts the build without
// publishing. Only one Build may run on a dir at a time.
func Build(ctx context.Context, dir string, passages iter.Seq2[corpus.Passage, error], opt BuildOptions) (Stats, error) {
	start := time.Now()
	params, err := opt.BM25.resolve()
	if err != nil {
		return Stats{}, err
	}
	if !isLittleEndian() {
		return Stats{}, errors.New("bm25: big-endian platforms are not supported")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("index %s: %w", dir, err)
	}
	gen, err := nextGeneration(dir)
	if err != nil {
		return Stats{}, err
	}
	gdir := filepath.Join(dir, gen)
	if err := os.Mkdir(gdir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("index %s: %w", dir, err)
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(gdir)
		}
	}()
	// The passage store is written as the passages stream in: straight
	// into index.bin, or, for shards (whose boundaries are known only at
	// the end), into a temporary file each shard copies its part from.
	name := indexFile
	if opt.Shards > 1 {
		name = storeTmpFile
	}
	path := filepath.Join(gdir, name)
	f, err := os.Create(path)
	if err != nil {
		return Stats{}, fmt.Errorf("index %s: %w", dir, err)
	}
	defer f.Close()
	b := newBuilder(opt, params, newFileWriter(f), gdir)
	defer b.removeRuns()
	if err := b.fw.start(secStoreBlob); err != nil {
		return Stats{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := b.invert(ctx, passages); err != nil {
		return Stats{}, fmt.Errorf("index %s: %w", dir, err)
	}
	inverted := time.Now()
	st := Stats{Passages: len(b.docLen), Tokens: b.tokens, Generation: gen}
	if opt.Shards > 1 {
		if st.Bytes, st.Shards, err = b.writeShards(ctx, f, opt.Shards); err != nil {
			return Stats{}, fmt.Errorf("index %s: %w", dir, err)
		}
	} else {
		if err := b.write(ctx, []*shardOut{{fw: b.fw, hi: len(b.docLen)}}); err != nil {
			return Stats{}, fmt.Errorf("write %s: %w", path, err)
		}
		if err := syncClose(f); err != nil {
			return Stats{}, err
		}
		st.Bytes = b.fw.off
	}
	slog.Debug("bm25 build", "dir", dir, "passages", len(b.docLen), "runs", len(b.runs), "shards", st.Shards, "invert", inverted.Sub(start), "write", time.Since(inverted))
	if err := publish(dir, gen); err != nil {
		return Stats{}, err
	}
	published = true
	st.Terms, st.Runs, st.Seconds = b.terms, b.spilled, time.Since(start).Seconds()
	return st, nil
}

// syncClose flushes f to disk and closes it.
func syncClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}

// builder holds the inversion: the postings of the current segment in
// memory, the runs spilled before it, and the per-passage tables.
type builder struct {
	opt    BuildOptions
	params Params
	fw     *fileWriter
	dir    string // the generation's directory, where runs are spilled
	// segLimit is the estimated size at which the segment is spilled;
	// localLimit the terms a worker's map may hold before it starts over.
	segLimit   int64
	localLimit int

	seg  *segment
	runs []string // spilled runs, in doc order
	// Per worker: the terms of its current map by local id (l2gStr) and
	// their ids in the current segment plus one (l2g; 0: not yet there).
	l2gStr   [][]string
	l2g      [][]uint32
	epoch    []int
	docLen   []uint32
	idOff    []uint32
	idBlob   []byte
	storeOff []uint64
	maxRaw   int
	tokens   int64
	postings int64 // (passage, term) pairs
	terms    int   // distinct terms, known after write
	spilled  int   // runs written
}

func newBuilder(opt BuildOptions, params Params, fw *fileWriter, dir string) *builder {
	budget := opt.MemBudget
	if budget <= 0 {
		budget = DefaultMemBudget
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	opt.Workers = workers
	return &builder{opt: opt, params: params, fw: fw, dir: dir, segLimit: budget / 3,
		localLimit: int(max(1024, budget/8/int64(workers)/termCost)), seg: newSegment()}
}

// invert runs the pipeline: one goroutine reads, Workers analyse and
// compress, and this goroutine merges batches in input order.
func (b *builder) invert(ctx context.Context, passages iter.Seq2[corpus.Passage, error]) error {
	workers := b.opt.Workers
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan *batch, 2*workers)
	out := make(chan *batch, 2*workers)
	var readErr error
	go func() {
		defer close(in)
		readErr = readBatches(ctx, passages, in)
	}()
	var wg sync.WaitGroup
	b.l2g, b.l2gStr, b.epoch = make([][]uint32, workers), make([][]string, workers), make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			analyseWorker(ctx, w, b.opt.Analyzer, b.localLimit, in, out)
		}()
	}
	go func() { wg.Wait(); close(out) }()

	pending := map[int]*batch{}
	next := 0
	b.storeOff = append(b.storeOff, 0)
	b.idOff = append(b.idOff, 0)
	for bt := range out {
		if bt.err != nil {
			cancel()
			for range out {
			}
			return bt.err
		}
		pending[bt.seq] = bt
		for pending[next] != nil {
			cur := pending[next]
			delete(pending, next)
			next++
			if err := b.merge(cur); err != nil {
				cancel()
				for range out {
				}
				return err
			}
			if b.opt.Progress != nil {
				b.opt.Progress(len(b.docLen))
			}
		}
	}
	if readErr != nil {
		return fmt.Errorf("read passages: %w", readErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(pending) != 0 {
		return errors.New("internal error: batches lost in the pipeline")
	}
	return nil
}

// readBatches sends the passages to in, batchSize at a time, numbered.
func readBatches(ctx context.Context, passages iter.Seq2[corpus.Passage, error], in chan<- *batch) error {
	cur := &batch{}
	send := func() bool {
		select {
		case in <- cur:
			cur = &batch{seq: cur.seq + 1}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for p, err := range passages {
		if err != nil {
			return err
		}
		cur.passages = append(cur.passages, p)
		if len(cur.passages) == batchSize && !send() {
			return nil
		}
	}
	if len(cur.passages) > 0 {
		send()
	}
	return nil
}

// analyseWorker analyses batches into local term ids. Its term map starts
// over (a new epoch) once it holds localLimit terms, so that its memory
// stays bounded however large the vocabulary.
func analyseWorker(ctx context.Context, w int, cfg AnalyzerConfig, localLimit int, in <-chan *batch, out chan<- *batch) {
	an := newAnalyzer(cfg)
	local := map[string]uint32{}
	lc := new(termCache)
	epoch := 0
	var counts []uint32
	var touched []uint32
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true),
		zstd.WithEncoderLevel(zstd.SpeedFastest))
	var rec []byte
	for bt := range in {
		if err != nil {
			bt.err = err
		} else {
			if len(local) >= localLimit {
				local, counts, epoch = map[string]uint32{}, counts[:0], epoch+1
				*lc = termCache{}
			}
			bt.worker, bt.epoch = w, epoch
			rec = rec[:0]
			inFrame := 0
			for _, p := range bt.passages {
				var dl uint32
				fn := func(t []byte) {
					id, ok := lc.get(t)
					if !ok {
						id, ok = local[string(t)]
						if !ok {
							id = uint32(len(local))
							s := string(t)
							local[s] = id
							bt.newTerms = append(bt.newTerms, s)
							counts = append(counts, 0)
						}
						lc.put(t, id)
					}
					if counts[id] == 0 {
						touched = append(touched, id)
					}
					counts[id]++
					dl++
				}
				an.each(p.Title, fn)
				an.each(p.Text, fn)
				bt.docOff = append(bt.docOff, len(bt.terms))
				for _, id := range touched {
					bt.terms = append(bt.terms, id)
					bt.tfs = append(bt.tfs, counts[id])
					counts[id] = 0
				}
				touched = touched[:0]
				bt.docLen = append(bt.docLen, dl)
				rec = appendPassage(rec, p)
				if inFrame++; inFrame == storeBlock {
					bt.frames = append(bt.frames, enc.EncodeAll(rec, nil))
					bt.rawLen = max(bt.rawLen, len(rec))
					rec, inFrame = rec[:0], 0
				}
			}
			if inFrame > 0 {
				bt.frames = append(bt.frames, enc.EncodeAll(rec, nil))
				bt.rawLen = max(bt.rawLen, len(rec))
			}
			bt.docOff = append(bt.docOff, len(bt.terms))
		}
		select {
		case out <- bt:
		case <-ctx.Done():
			return
		}
	}
}

// appendPassage appends one passage record: id, title, text and the meta
// pairs, each string as uvarint length then bytes.
func appendPassage(dst []byte, p corpus.Passage) []byte {
	str := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	str(p.ID)
	str(p.Title)
	str(p.Text)
	keys := make([]string, 0, len(p.Meta))
	for k := range p.Meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		str(k)
		str(p.Meta[k])
	}
	return dst
}

// merge appends one analysed batch, in input order, spilling the segment
// when it has grown past its limit.
func (b *builder) merge(bt *batch) error {
	w := bt.worker
	if bt.epoch != b.epoch[w] {
		b.epoch[w], b.l2gStr[w], b.l2g[w] = bt.epoch, b.l2gStr[w][:0], b.l2g[w][:0]
	}
	b.l2gStr[w] = append(b.l2gStr[w], bt.newTerms...)
	for range bt.newTerms {
		b.l2g[w] = append(b.l2g[w], 0)
	}
	l2g, l2gStr, seg := b.l2g[w], b.l2gStr[w], b.seg
	for i, dl := range bt.docLen {
		doc := uint32(len(b.docLen))
		if len(b.docLen) == math.MaxUint32-1 {
			return errors.New("too many passages for one index")
		}
		for j := bt.docOff[i]; j < bt.docOff[i+1]; j++ {
			l := bt.terms[j]
			g := l2g[l]
			if g == 0 {
				g = seg.id(l2gStr[l]) + 1
				l2g[l] = g
			}
			seg.docs[g-1] = append(seg.docs[g-1], doc)
			seg.tfs[g-1] = append(seg.tfs[g-1], bt.tfs[j])
		}
		n := bt.docOff[i+1] - bt.docOff[i]
		seg.postings += int64(n)
		b.postings += int64(n)
		b.docLen = append(b.docLen, dl)
		b.tokens += int64(dl)
		b.idBlob = append(b.idBlob, bt.passages[i].ID...)
		if len(b.idBlob) > math.MaxUint32 {
			return errors.New("passage ids exceed 4 GiB")
		}
		b.idOff = append(b.idOff, uint32(len(b.idBlob)))
	}
	b.maxRaw = max(b.maxRaw, bt.rawLen)
	for _, f := range bt.frames {
		if err := b.fw.write(secStoreBlob, f); err != nil {
			return err
		}
		b.storeOff = append(b.storeOff, uint64(b.fw.secs[secStoreBlob].n))
	}
	if seg.size() > b.segLimit {
		return b.spill()
	}
	return nil
}

// termCache is a direct-mapped cache in front of a worker's term map: the
// frequent terms that make up most tokens then cost a cheap hash and one
// compare instead of a map probe into a table of every term seen.
type termCache struct {
	keys [1 << 16]string
	ids  [1 << 16]uint32
}

func cacheSlot(t []byte) int {
	var h uint64
	if len(t) >= 8 {
		h = binary.LittleEndian.Uint64(t) ^ binary.LittleEndian.Uint64(t[len(t)-8:])<<7
	} else {
		for _, c := range t {
			h = h<<8 | uint64(c)
		}
	}
	h = (h ^ uint64(len(t))) * 0x9E3779B97F4A7C15
	return int(h >> 48)
}

func (c *termCache) get(t []byte) (uint32, bool) {
	i := cacheSlot(t)
	if c.keys[i] == string(t) && len(t) > 0 {
		return c.ids[i], true
	}
	return 0, false
}

func (c *termCache) put(t []byte, id uint32) {
	i := cacheSlot(t)
	c.keys[i] = string(t)
	c.ids[i] = id
}
