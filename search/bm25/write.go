package bm25

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// write encodes the dictionary, postings, doc table and meta after the
// store, then the header.
func (b *builder) write() error {
	n := len(b.docLen)
	avgdl := 1.0
	if n > 0 && b.tokens > 0 {
		avgdl = float64(b.tokens) / float64(n)
	}
	sc := newScorer(b.params, avgdl, b.docLen)

	order := make([]uint32, len(b.termStr))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int { return strings.Compare(b.termStr[x], b.termStr[y]) })

	infos, chunks := b.encodePostings(order, sc, n)
	var off uint64 // each term's offset within the postings section
	ti := make([]byte, 0, len(order)*termInfoSize)
	for i := range order {
		info := infos[i]
		info.Offset = off
		off += uint64(len(chunks[i]))
		ti = binary.LittleEndian.AppendUint32(ti, info.DF)
		ti = binary.LittleEndian.AppendUint32(ti, info.Blocks)
		ti = binary.LittleEndian.AppendUint64(ti, info.Offset)
		ti = binary.LittleEndian.AppendUint32(ti, math.Float32bits(info.MaxScore))
		ti = binary.LittleEndian.AppendUint32(ti, math.Float32bits(info.IDF))
	}
	termOff := make([]byte, 0, 4*(len(order)+1))
	var blob []byte
	termOff = binary.LittleEndian.AppendUint32(termOff, 0)
	for _, g := range order {
		blob = append(blob, b.termStr[g]...)
		termOff = binary.LittleEndian.AppendUint32(termOff, uint32(len(blob)))
	}
	m := meta{Version: formatVersion, Analyzer: b.opt.Analyzer, BM25: b.params, Passages: n,
		Terms: len(order), Tokens: b.tokens, AvgDL: avgdl, StoreBlock: storeBlock, StoreBlocks: len(b.storeOff) - 1, MaxStoreRaw: b.maxRaw}
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	steps := []struct {
		kind   int
		chunks [][]byte
	}{
		{secMeta, [][]byte{mj}},
		{secTermOff, [][]byte{termOff}},
		{secTermBlob, [][]byte{blob}},
		{secTermInfo, [][]byte{ti}},
		{secPostings, chunks},
		{secDocLen, [][]byte{u32bytes(b.docLen)}},
		{secIDOff, [][]byte{u32bytes(b.idOff)}},
		{secIDBlob, [][]byte{b.idBlob}},
		{secStoreOff, [][]byte{u64bytes(b.storeOff)}},
	}
	for _, s := range steps {
		if err := b.fw.section(s.kind, s.chunks...); err != nil {
			return err
		}
	}
	return b.fw.finish()
}

// encodePostings encodes each term (in dictionary order) on all cores.
// Every chunk's length is a multiple of 4 so the next term's arrays stay
// aligned.
func (b *builder) encodePostings(order []uint32, sc *scorer, n int) ([]termInfo, [][]byte) {
	infos := make([]termInfo, len(order))
	chunks := make([][]byte, len(order))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := &encScratch{block: make([]uint32, blockSize)}
			for i := w; i < len(order); i += workers {
				g := order[i]
				infos[i], chunks[i] = encodeTerm(b.docs[g], b.tfs[g], sc, n, scratch)
				b.docs[g], b.tfs[g] = nil, nil
			}
		}()
	}
	wg.Wait()
	return infos, chunks
}

// encScratch is one encoding worker's reusable memory.
type encScratch struct {
	block       []uint32
	ws, sel, hw []float32
	hdocs, htfs []uint32
}

func encodeTerm(docs, tfs []uint32, sc *scorer, n int, es *encScratch) (termInfo, []byte) {
	df := len(docs)
	idf := idf(n, df)
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

func u64bytes(v []uint64) []byte {
	out := make([]byte, 0, 8*len(v))
	for _, x := range v {
		out = binary.LittleEndian.AppendUint64(out, x)
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
