package bm25

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// shardOut is one file the write phase produces: passages [lo, hi) of
// the build, renumbered from 0. An unsharded build has one, holding all.
type shardOut struct {
	fw     *fileWriter
	lo, hi int
	shard  *shardMeta // nil for an unsharded index
	sc     *scorer
	dict   *dictWriter
}

// write merges the spilled runs and the segment in memory term by term,
// encodes each term's postings on all cores and streams them into the
// postings section of every output, then writes the dictionary, doc table
// and meta after it, then the header. Every output's postings are weighed
// with the statistics of the whole build (N, df, avgdl), so a shard
// scores a passage exactly as an unsharded index would. The outputs'
// store sections must be written already.
func (b *builder) write(ctx context.Context, outs []*shardOut) error {
	n := len(b.docLen)
	avgdl := 1.0
	if n > 0 && b.tokens > 0 {
		avgdl = float64(b.tokens) / float64(n)
	}
	for _, o := range outs {
		o.sc = newScorer(b.params, avgdl, b.docLen[o.lo:o.hi])
		o.dict = &dictWriter{termOff: binary.LittleEndian.AppendUint32(nil, 0)}
		if err := o.fw.start(secPostings); err != nil {
			return err
		}
	}
	var srcs []termSource
	for _, p := range b.runs {
		r, err := openRun(p)
		if err != nil {
			return fmt.Errorf("merge postings: %w", err)
		}
		srcs = append(srcs, r)
	}
	srcs = append(srcs, &memSource{s: b.seg, order: b.seg.sorted(), i: -1})
	m, err := newMerger(srcs)
	if m != nil {
		defer m.close()
	}
	if err != nil {
		return fmt.Errorf("merge postings: %w", err)
	}
	if err := b.encodePostings(ctx, m, outs, n); err != nil {
		return err
	}
	for _, o := range outs {
		if err := b.finishOut(o, avgdl); err != nil {
			return err
		}
	}
	return nil
}

// finishOut writes the sections after the postings of o, and its header.
func (b *builder) finishOut(o *shardOut, avgdl float64) error {
	var tokens int64
	for _, dl := range b.docLen[o.lo:o.hi] {
		tokens += int64(dl)
	}
	fLo, fHi := o.lo/storeBlock, (o.hi+storeBlock-1)/storeBlock
	m2 := meta{Version: formatVersion, Analyzer: b.opt.Analyzer, BM25: b.params, Passages: o.hi - o.lo,
		Terms: o.dict.terms, Tokens: tokens, AvgDL: avgdl, StoreBlock: storeBlock, StoreBlocks: fHi - fLo,
		MaxStoreRaw: b.maxRaw, Shard: o.shard}
	mj, err := json.Marshal(m2)
	if err != nil {
		return err
	}
	idOff := b.idOff[o.lo : o.hi+1]
	steps := []struct {
		kind   int
		chunks [][]byte
	}{
		{secMeta, [][]byte{mj}},
		{secTermOff, [][]byte{o.dict.termOff}},
		{secTermBlob, [][]byte{o.dict.blob}},
		{secTermInfo, [][]byte{o.dict.info}},
		{secDocLen, [][]byte{u32bytes(b.docLen[o.lo:o.hi])}},
		{secIDOff, [][]byte{u32rebased(idOff, idOff[0])}},
		{secIDBlob, [][]byte{b.idBlob[idOff[0]:idOff[len(idOff)-1]]}},
		{secStoreOff, [][]byte{u64rebased(b.storeOff[fLo:fHi+1], b.storeOff[fLo])}},
	}
	for _, s := range steps {
		if err := o.fw.section(s.kind, s.chunks...); err != nil {
			return err
		}
	}
	return o.fw.finish()
}

// dictWriter accumulates the dictionary sections as terms are written.
type dictWriter struct {
	terms         int
	termOff, blob []byte
	info          []byte
	off           uint64 // next term's offset within the postings section
}

func (d *dictWriter) add(term string, info termInfo, chunk []byte) {
	d.terms++
	d.blob = append(d.blob, term...)
	d.termOff = binary.LittleEndian.AppendUint32(d.termOff, uint32(len(d.blob)))
	info.Offset = d.off
	d.off += uint64(len(chunk))
	d.info = binary.LittleEndian.AppendUint32(d.info, info.DF)
	d.info = binary.LittleEndian.AppendUint32(d.info, info.Blocks)
	d.info = binary.LittleEndian.AppendUint64(d.info, info.Offset)
	d.info = binary.LittleEndian.AppendUint32(d.info, math.Float32bits(info.MaxScore))
	d.info = binary.LittleEndian.AppendUint32(d.info, math.Float32bits(info.IDF))
}

// encJob is a run of consecutive terms encoded by one worker.
type encJob struct {
	seq    int
	terms  []string
	docs   [][]uint32
	tfs    [][]uint32
	infos  [][]termInfo // per term, per output
	chunks [][][]byte   // per term, per output; nil where the output has no postings
}

// Jobs close at this many terms or postings, so that a worker's share is
// worth a channel hand-off yet the terms in flight stay few.
const (
	jobTerms    = 1024
	jobPostings = 1 << 16
)

// encodePostings takes the merged terms in byte order, encodes each
// output's part of them on all cores and writes them in order to the
// outputs' postings sections.
func (b *builder) encodePostings(ctx context.Context, m *merger, outs []*shardOut, n int) error {
	workers := b.opt.Workers
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *encJob, workers)
	done := make(chan *encJob, 2*workers)
	var mergeErr error
	go func() {
		defer close(jobs)
		mergeErr = produceJobs(ctx, m, jobs)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			es := &encScratch{block: make([]uint32, blockSize)}
			for j := range jobs {
				j.infos, j.chunks = make([][]termInfo, len(j.terms)), make([][][]byte, len(j.terms))
				for i := range j.terms {
					j.infos[i], j.chunks[i] = encodeParts(j.docs[i], j.tfs[i], outs, n, es)
					j.docs[i], j.tfs[i] = nil, nil
				}
				select {
				case done <- j:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	pending := map[int]*encJob{}
	next := 0
	var written int64
	var werr error
	for j := range done {
		if werr != nil {
			continue
		}
		pending[j.seq] = j
		for pending[next] != nil {
			cur := pending[next]
			delete(pending, next)
			next++
		terms:
			for i, t := range cur.terms {
				b.terms++
				for s, o := range outs {
					c := cur.chunks[i][s]
					if c == nil {
						continue
					}
					if werr = o.fw.write(secPostings, c); werr != nil {
						cancel()
						break terms
					}
					o.dict.add(t, cur.infos[i][s], c)
					written += int64(cur.infos[i][s].DF)
				}
			}
			if b.opt.MergeProgress != nil {
				b.opt.MergeProgress(written, b.postings)
			}
		}
	}
	if werr != nil {
		return werr
	}
	if mergeErr != nil {
		return fmt.Errorf("merge postings: %w", mergeErr)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(pending) != 0 {
		return errors.New("internal error: terms lost in the merge")
	}
	return nil
}

// encodeParts encodes one term's postings (docs of the whole build) for
// each output that holds some of them, weighing them with the idf of the
// whole build.
func encodeParts(docs, tfs []uint32, outs []*shardOut, n int, es *encScratch) ([]termInfo, [][]byte) {
	w := idf(n, len(docs))
	infos, chunks := make([]termInfo, len(outs)), make([][]byte, len(outs))
	for s, o := range outs {
		lo, _ := slices.BinarySearch(docs, uint32(o.lo))
		hi, _ := slices.BinarySearch(docs, uint32(o.hi))
		if lo == hi {
			continue
		}
		local := docs[lo:hi]
		if o.lo > 0 {
			es.local = slices.Grow(es.local[:0], hi-lo)
			for _, d := range local {
				es.local = append(es.local, d-uint32(o.lo))
			}
			local = es.local
		}
		infos[s], chunks[s] = encodeTerm(local, tfs[lo:hi], w, o.sc, o.hi-o.lo, es)
	}
	return infos, chunks
}

// produceJobs sends the merged terms in jobs, numbered in order.
func produceJobs(ctx context.Context, m *merger, jobs chan<- *encJob) error {
	cur := &encJob{}
	postings := 0
	send := func() bool {
		select {
		case jobs <- cur:
			cur, postings = &encJob{seq: cur.seq + 1}, 0
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		t, docs, tfs, ok, err := m.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		cur.terms, cur.docs, cur.tfs = append(cur.terms, t), append(cur.docs, docs), append(cur.tfs, tfs)
		postings += len(docs)
		if (len(cur.terms) == jobTerms || postings >= jobPostings) && !send() {
			return ctx.Err()
		}
	}
	if len(cur.terms) > 0 && !send() {
		return ctx.Err()
	}
	return nil
}

// encScratch is one encoding worker's reusable memory.
type encScratch struct {
	block       []uint32
	ws, sel, hw []float32
	hdocs, htfs []uint32
	local       []uint32 // a shard's docs, renumbered
}

// encodeTerm encodes one term's postings (docs numbered within the n
// passages that sc normalises) with the given idf.
func encodeTerm(docs, tfs []uint32, idf float32, sc *scorer, n int, es *encScratch) (termInfo, []byte) {
	df := len(docs)
	scratch := es.block
	ws := slices.Grow(es.ws[:0], df)[:df]
	es.ws = ws
	for j := range docs {
		ws[j] = sc.weight(idf, tfs[j], docs[j])
	}
	info := termInfo{DF: uint32(df), Blocks: uint32((df + blockSize - 1) / blockSize), IDF: idf}
	head, data, maxW := encodeList(nil, docs, tfs, ws, scratch)
	info.MaxScore = maxW
	cdocs, cws, tail := champions(docs, ws)
	var dense []byte
	denseBits := 0
	if df >= denseMin && df*denseFrac >= n {
		big := 0
		for _, t := range tfs {
			if t >= 15 {
				big++
			}
		}
		denseBits = 8
		if big*denseEsc <= df {
			denseBits = 4
		}
		dense = make([]byte, denseLen(n, denseBits))
		for i, d := range docs {
			if denseBits == 4 {
				dense[d>>1] |= byte(min(tfs[i], 15)) << ((d & 1) * 4)
			} else {
				dense[d] = byte(min(tfs[i], 255))
			}
		}
	}
	hiDocs, hiTFs, hiWs, hiCut := highLayer(docs, tfs, ws, es)
	var hiHead, hiData []byte
	if len(hiDocs) > 0 {
		hiHead, hiData, _ = encodeList(nil, hiDocs, hiTFs, hiWs, scratch)
		for len(hiData)%4 != 0 {
			hiData = append(hiData, 0)
		}
	}
	head = binary.LittleEndian.AppendUint32(head, uint32(len(cdocs)))
	head = binary.LittleEndian.AppendUint32(head, math.Float32bits(tail))
	head = binary.LittleEndian.AppendUint32(head, uint32(denseBits))
	head = binary.LittleEndian.AppendUint32(head, uint32(len(hiDocs)))
	head = binary.LittleEndian.AppendUint32(head, math.Float32bits(hiCut))
	head = binary.LittleEndian.AppendUint32(head, uint32(len(hiData)))
	head = append(head, u32bytes(cdocs)...)
	for _, w := range cws {
		head = binary.LittleEndian.AppendUint32(head, math.Float32bits(w))
	}
	head = append(head, dense...)
	head = append(head, hiHead...)
	head = append(head, hiData...)
	out := append(head, data...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return info, out
}

// encodeList appends to head the skip data (lastDoc, blockMax, blockEnd)
// of the blocks of docs/tfs, whose weights are ws, and returns it with the
// blocks' bytes and the largest weight.
func encodeList(head []byte, docs, tfs []uint32, ws []float32, scratch []uint32) ([]byte, []byte, float32) {
	df := len(docs)
	nb := (df + blockSize - 1) / blockSize
	var data []byte
	lastDocs := make([]uint32, nb)
	maxes := make([]float32, nb)
	ends := make([]uint32, nb)
	prev := int64(-1)
	var maxW float32
	for bi := 0; bi < nb; bi++ {
		lo, hi := bi*blockSize, min(df, (bi+1)*blockSize)
		var bm float32
		for _, w := range ws[lo:hi] {
			bm = max(bm, w)
		}
		data = encodeBlock(data, prev, docs[lo:hi], tfs[lo:hi], scratch)
		prev = int64(docs[hi-1])
		lastDocs[bi], maxes[bi], ends[bi] = docs[hi-1], bm, uint32(len(data))
		maxW = max(maxW, bm)
	}
	head = append(head, u32bytes(lastDocs)...)
	for _, m := range maxes {
		head = binary.LittleEndian.AppendUint32(head, math.Float32bits(m))
	}
	head = append(head, u32bytes(ends)...)
	return head, data, maxW
}

// highLayer returns, for a term with at least hiMin postings, the postings
// weighing more than cut, where cut is the weight of about the
// (df/hiFrac)-th heaviest posting, in doc order. It returns none when ties
// would put more than half the postings above cut.
func highLayer(docs, tfs []uint32, ws []float32, es *encScratch) (hd, ht []uint32, hw []float32, cut float32) {
	if len(docs) < hiMin {
		return nil, nil, nil, 0
	}
	es.sel = append(es.sel[:0], ws...)
	cut = kthLargest32(es.sel, len(ws)/hiFrac)
	cnt := 0
	for _, w := range ws {
		if w > cut {
			cnt++
		}
	}
	if cnt == 0 || cnt > len(ws)/2 {
		return nil, nil, nil, 0
	}
	hd, ht, hw = es.hdocs[:0], es.htfs[:0], es.hw[:0]
	for i, w := range ws {
		if w > cut {
			hd, ht, hw = append(hd, docs[i]), append(ht, tfs[i]), append(hw, w)
		}
	}
	es.hdocs, es.htfs, es.hw = hd, ht, hw
	return hd, ht, hw, cut
}

// kthLargest32 returns the k-th largest value of v (1 <= k <= len(v)),
// reordering v (quickselect).
func kthLargest32(v []float32, k int) float32 {
	lo, hi, want := 0, len(v)-1, k-1
	for lo < hi {
		p := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] > p {
				i++
			}
			for v[j] < p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return v[want]
		}
	}
	return v[want]
}

func u32bytes(v []uint32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, x)
	}
	return out
}

// u32rebased returns v's values less base, as bytes.
func u32rebased(v []uint32, base uint32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, x-base)
	}
	return out
}

// u64rebased returns v's values less base, as bytes.
func u64rebased(v []uint64, base uint64) []byte {
	out := make([]byte, 0, 8*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint64(out, x-base)
	}
	return out
}

// champions picks, for a term with more than 2*champSize postings, the
// champSize postings of highest weight (ties to the lower doc), in doc
// order with their weights, and the largest weight among the rest. A min-heap of the best
// champSize+1 keeps it linear in practice: most postings are rejected by
// one comparison.
func champions(docs []uint32, ws []float32) (cdocs []uint32, cws []float32, tail float32) {
	if len(docs) <= 2*champSize {
		return nil, nil, 0
	}
	type entry struct {
		w float32
		i int32
	}
	// worse orders the heap: lower weight, then the later posting, first.
	worse := func(a, b entry) bool { return a.w < b.w || (a.w == b.w && a.i > b.i) }
	h := make([]entry, 0, champSize+1)
	down := func(j int) {
		for {
			l, m := 2*j+1, j
			if l < len(h) && worse(h[l], h[m]) {
				m = l
			}
			if r := l + 1; r < len(h) && worse(h[r], h[m]) {
				m = r
			}
			if m == j {
				return
			}
			h[j], h[m] = h[m], h[j]
			j = m
		}
	}
	for i := range docs {
		e := entry{ws[i], int32(i)}
		if len(h) < champSize+1 {
			h = append(h, e)
			for j := len(h) - 1; j > 0 && worse(h[j], h[(j-1)/2]); j = (j - 1) / 2 {
				h[j], h[(j-1)/2] = h[(j-1)/2], h[j]
			}
			continue
		}
		if worse(h[0], e) {
			h[0] = e
			down(0)
		}
	}
	// h[0] is the (champSize+1)-th best: the tail; the rest are champions.
	tail = h[0].w
	top := slices.Clone(h[1:])
	slices.SortFunc(top, func(a, b entry) int { // heaviest first, then lower doc
		switch {
		case a.i == b.i:
			return 0
		case worse(a, b):
			return 1
		}
		return -1
	})
	for _, e := range top {
		cdocs = append(cdocs, docs[e.i])
		cws = append(cws, e.w)
	}
	return cdocs, cws, tail
}
