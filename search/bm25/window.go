package bm25

import (
	"math"
	"math/bits"
)

// The pruned search works on windows of winSize consecutive passages
// (aligned to multiples of it). Within a window it walks each walked list
// in one tight loop, summing bounds per passage into an array, and then
// probes the other terms one term at a time over the passages still in the
// running: loops without data-dependent calls, where a document-at-a-time
// merge paid a call, a heap test and a few mispredicted branches per
// candidate.
const (
	winBits  = 12
	winSize  = 1 << winBits
	winWords = winSize / 64
)

// winScratch is the per-window memory of one searcher, reused by its queries.
type winScratch struct {
	acc   []float32 // per passage: the sum over walked lists holding it of weight - pb; zero between windows
	tw    []float32 // per term and passage: the term's weight, where known
	bits  []uint64  // per term: passages in its walked list (cleared after each window)
	lists [][]uint64
	words [(winWords + 63) / 64]uint64 // bit i: word i of some walked list's bits is not zero
	cands []wcand
}

// wcand is a passage still in the running: its offset in the window and
// its bound (exact weights of the terms known so far, bounds of the rest).
type wcand struct {
	j uint32
	b float64
}

func (s *searcher) window(nterms int) *winScratch {
	w := &s.win
	if len(w.acc) != winSize {
		w.acc = make([]float32, winSize)
		w.cands = make([]wcand, winSize)
	}
	if len(w.tw) < nterms*winSize {
		w.tw = make([]float32, nterms*winSize)
		w.bits = make([]uint64, nterms*winWords)
	}
	return w
}

// maxScore runs block-max MaxScore over layered terms, window by window.
// Each term is in one of three modes: its full list is walked, or only its
// high layer is walked and the rest is probed (a passage not in the layer
// gets at most hiCut from it), or it is only probed. As the k-th score
// rises, terms move to cheaper modes (between windows) while the bound on
// passages found in no walked list (the sum of hiCut for layered terms and
// the maximum for probed ones) stays below it. Windows and blocks whose
// bounds cannot beat it are skipped, and so are postings that cannot even
// with every other walked list at its window maximum. Every passage that
// is fully scored gets the same float32 sum, in query order, that
// exhaustive scoring computes, so results are identical to it.
//
// done, when it closes, stops the search between windows; maxScore then
// returns nil.
//
// floor, when positive, is a known lower bound on the k-th best score (from
// seed); passages that cannot reach it are pruned from the start.
func (s *searcher) maxScore(sc *scorer, terms []qterm, k int, floor float32, n int, done <-chan struct{}) []Scored {
	m := &msRun{sc: sc, st: &s.st, cs: s.cursors(terms), top: topk{k: k, h: s.heap[:0]},
		mode: s.modes[:0], ess: s.ess[:0], probes: s.probes[:0]}
	for range terms {
		m.mode = append(m.mode, modeFull)
	}
	defer func() { s.heap, s.modes, s.ess, s.probes = m.top.h[:0], m.mode, m.ess, m.probes }()
	m.plan()
	if floor > 0 {
		// Only passages strictly below floor are provably out, so aim a little lower.
		m.raise(float64(floor) * (1 - 2*slack))
	}
	w := s.window(len(terms))
	mb := s.ub[:0]
	for base := uint32(0); ; {
		select {
		case <-done:
			s.ub = mb
			return nil
		default:
		}
		// Jump to the window of the first posting left in a walked list.
		first := uint32(endDoc)
		for _, c := range m.ess {
			first = min(first, c.nextDoc(base))
		}
		if first == endDoc || int(first) >= n {
			break
		}
		base = max(base, first&^(winSize-1))
		end := uint32(min(int(base)+winSize, n))
		// The window's bound: each walked list at its largest block bound here.
		wb := m.others
		mb = mb[:0]
		for _, c := range m.ess {
			c.seek(base)
			b := max(0, float64(c.windowMax(end))-c.pb)
			mb = append(mb, b)
			wb += b
		}
		if m.thr > 0 && wb*(1+slack) <= m.thr {
			for _, c := range m.ess {
				c.seek(end)
			}
			base = end
			continue
		}
		need := math.Inf(-1)
		if m.thr > 0 {
			need = m.thr/(1+slack) - wb
		}
		for i, c := range m.ess {
			c.walk(w, sc, base, end, need+mb[i]+c.pb)
		}
		m.flush(w, terms, base, end)
		base = end
	}
	s.ub = mb
	for _, c := range m.cs {
		s.st.decodes += c.decodes
	}
	return m.top.sorted()
}

// flush finds the passages of [base, end) that can make the top k, given
// the walked lists' postings there (in w), and pushes them.
func (m *msRun) flush(w *winScratch, terms []qterm, base, end uint32) {
	lim := m.thr
	if lim <= 0 {
		lim = math.Inf(-1)
	}
	nw := int(end-base+63) / 64
	// The passages of any walked list, in order, with their bounds.
	// Candidates are written unconditionally and kept by moving n, which
	// compiles without a branch that would mispredict half the time.
	lists := w.lists[:0]
	for _, c := range m.ess {
		lists = append(lists, w.bits[c.qi*winWords:][:nw])
	}
	w.lists = lists
	cands := w.cands[:winSize]
	acc := w.acc[:winSize]
	n := 0
	for wh, ws := range w.words {
		for ; ws != 0; ws &= ws - 1 {
			wi := wh*64 + bits.TrailingZeros64(ws)
			var u uint64
			for _, l := range lists {
				u |= l[wi]
			}
			for u != 0 {
				j := uint32(wi*64+bits.TrailingZeros64(u)) & (winSize - 1)
				u &= u - 1
				b := m.others + float64(acc[j])
				acc[j] = 0
				cands[n] = wcand{j, b}
				if b*(1+slack) > lim {
					n++
				}
			}
		}
	}
	m.st.cands += n
	// Probe the other terms, largest bound first, dropping passages as
	// soon as they cannot beat the threshold.
	for _, pr := range m.probes {
		if n == 0 {
			break
		}
		n = m.probe(w, pr, cands[:n], base, lim)
	}
	for _, cd := range cands[:n] {
		var score float32
		for qi := range terms {
			if m.mode[qi] == modeFull && w.bits[qi*winWords+int(cd.j>>6)]&(1<<(cd.j&63)) == 0 {
				continue // not in the walked list: the term is absent
			}
			score += w.tw[qi*winSize+int(cd.j)]
		}
		if !m.top.full() || score > m.top.threshold() {
			m.top.push(Scored{Doc: base + cd.j, Score: score})
		}
	}
	for wh, ws := range w.words {
		for ; ws != 0; ws &= ws - 1 {
			wi := wh*64 + bits.TrailingZeros64(ws)
			for _, l := range lists {
				l[wi] = 0
			}
		}
	}
	clear(w.words[:])
	if m.top.full() {
		m.raise(float64(m.top.threshold()))
	}
}

// probe looks up term pr for each candidate, compacting in place those
// that can still beat lim, and returns how many there are.
func (m *msRun) probe(w *winScratch, pr probe, cands []wcand, base uint32, lim float64) int {
	c := pr.c
	qi := c.qi
	bitsq := w.bits[qi*winWords:][:winWords]
	twq := w.tw[qi*winSize:][:winSize]
	sc := m.sc
	n := 0
	if dense := c.t.dense; dense.b != nil && m.mode[qi] == modeProbe {
		// The common case, without branches but for a capped tf. tf 0
		// gives weight 0.
		for _, cd := range cands {
			j := cd.j & (winSize - 1)
			d := base + j
			tf := dense.get(d)
			if tf == dense.mask {
				tf = c.find(d)
			}
			wt := float32(c.qtf * sc.weight(c.idf, tf, d))
			twq[j] = wt
			cd.b += float64(wt) - pr.bound
			cands[n] = cd
			if cd.b*(1+slack) > lim {
				n++
			}
		}
		return n
	}
	walked := m.mode[qi] == modeHi // its high layer was walked: known for the passages in it
	for _, cd := range cands {
		j := cd.j & (winSize - 1)
		if walked && bitsq[j>>6]&(1<<(j&63)) != 0 {
			cands[n] = cd
			n++
			continue
		}
		d := base + j
		tf := c.t.dense.mask
		if c.t.dense.b != nil {
			tf = c.t.dense.get(d)
		}
		if tf == c.t.dense.mask {
			tf = c.find(d)
		}
		var wt float32
		if tf > 0 {
			wt = float32(c.qtf * sc.weight(c.idf, tf, d))
		}
		twq[j] = wt
		cd.b += float64(wt) - pr.bound
		cands[n] = cd
		if cd.b*(1+slack) > lim {
			n++
		}
	}
	return n
}

// find returns the tf of doc in the cursor's list (0 if absent), moving
// the cursor to it; docs must come in ascending order.
func (c *cursor) find(doc uint32) uint32 {
	if c.advance(doc); c.doc == doc {
		return c.blk.tf(c.pos)
	}
	return 0
}

// nextDoc returns a lower bound on the cursor's next posting at or after
// base (endDoc when there is none), without decoding.
func (c *cursor) nextDoc(base uint32) uint32 {
	c.seek(base)
	if c.bi >= c.nblk {
		return endDoc
	}
	if c.dec == c.bi && c.pos < c.blk.n {
		return max(base, c.blk.docs[c.pos])
	}
	if c.bi > 0 {
		return max(base, c.p.lastDoc[c.bi-1]+1)
	}
	return base
}

// seek moves the block position past the blocks that end before base.
func (c *cursor) seek(base uint32) {
	for c.bi < c.nblk && c.p.lastDoc[c.bi] < base {
		c.bi++
	}
}

// windowMax returns the largest block bound (times qtf) among the blocks
// from the block position that start before end.
func (c *cursor) windowMax(end uint32) float32 {
	var mx float32
	for b := c.bi; b < c.nblk && (b == c.bi || c.p.lastDoc[b-1] < end-1); b++ {
		mx = max(mx, c.p.blockMax[b])
	}
	return mx * c.qtf
}

// walk adds the cursor's postings in [base, end) that weigh more than
// need to the window: weight in tw, weight minus pb in acc, a bit in bits.
// Blocks whose bound is at most need are not decoded.
func (c *cursor) walk(w *winScratch, sc *scorer, base, end uint32, need float64) {
	bitsq := w.bits[c.qi*winWords:][:winWords]
	twq := w.tw[c.qi*winSize:][:winSize]
	acc := w.acc[:winSize]
	pb := float32(c.pb)
	filter := need > 0
	words := &w.words
	for ; c.bi < c.nblk; c.bi++ {
		b := c.bi
		if b > 0 && c.p.lastDoc[b-1] >= end-1 {
			return // the block starts at or after end
		}
		if filter && float64(c.p.blockMax[b]*c.qtf) <= need {
			if c.p.lastDoc[b] >= end {
				return // look at it again in the next window
			}
			continue
		}
		if c.dec != b {
			c.decodes++
			if !c.blk.decodeDocs(c.p, b) {
				c.bad, c.doc, c.bi, c.dec = true, endDoc, c.nblk, -1
				return
			}
			c.dec, c.pos = b, 0
		}
		docs := c.blk.docs[:c.blk.n]
		tfs := c.blk.allTFs()
		i := c.pos
		for i < len(docs) && docs[i] < base {
			i++
		}
		if !filter {
			for ; i < len(docs) && docs[i] < end; i++ {
				d := docs[i]
				wt := float32(c.qtf * sc.weight(c.idf, tfs[i]+1, d))
				j := (d - base) & (winSize - 1)
				twq[j] = wt
				acc[j] += wt - pb
				bitsq[j>>6] |= 1 << (j & 63)
				words[j>>12] |= 1 << (j >> 6 & 63)
			}
		}
		// Without branches on the weight: a posting that cannot help adds
		// 0 and no bit (its weight in tw is never read).
		for ; i < len(docs) && docs[i] < end; i++ {
			d := docs[i]
			wt := float32(c.qtf * sc.weight(c.idf, tfs[i]+1, d))
			j := (d - base) & (winSize - 1)
			var keep uint64
			if float64(wt) > need {
				keep = 1
			}
			twq[j] = wt
			acc[j] += (wt - pb) * float32(keep)
			bitsq[j>>6] |= keep << (j & 63)
			words[j>>12] |= keep << (j >> 6 & 63)
		}
		c.pos = i
		if i < len(docs) {
			c.doc = docs[i]
			return
		}
	}
}
