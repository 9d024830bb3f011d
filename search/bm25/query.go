package bm25

import (
	"cmp"
	"slices"
)

// Scored is one result of the id-only searches: an internal passage number
// (see Index.ID and Index.Passage) and its BM25 score.
type Scored struct {
	Doc   uint32
	Score float32
}

// slack keeps pruning safe against float rounding: upper bounds are summed
// in a different order than scores, so a bound is trusted only when it is
// below the threshold by more than this relative margin.
const slack = 1e-5

// qterm is one distinct query term.
type qterm struct {
	p   termPostings
	idf float32
	max float32 // largest block bound
	qtf float32 // occurrences in the query: a repeated term counts again
}

// cursor walks one posting list block by block: a term's full list, or
// its high layer, or its full list standing for the rest (the postings
// outside the high layer, bounded by hiCut: see termPostings.hi).
type cursor struct {
	p       *postingList
	t       *termPostings
	cut     float32 // for a high layer: hiCut times qtf
	pb      float64 // when walked: the bound others counts for its term
	idf     float32
	qtf     float32
	max     float32 // upper bound of this term's contribution anywhere
	qi      int     // position in query order, the order scores are summed in
	bi      int     // block of the shallow position (may run ahead of dec)
	dec     int     // decoded block, -1 before the first decode
	pos     int
	doc     uint32 // current doc, endDoc when exhausted
	bad     bool   // a block failed to decode
	decodes int
	blk     block
	nblk    int
}

func (c *cursor) reset(q *qterm, p *postingList, qi int) {
	c.p, c.t, c.idf, c.qtf, c.qi, c.max, c.cut = p, &q.p, q.idf, q.qtf, qi, q.max*q.qtf, q.p.hiCut*q.qtf
	c.nblk = len(p.lastDoc)
	c.bi, c.dec, c.pos, c.bad, c.decodes = 0, -1, 0, false, 0
	c.doc = 0
	c.load(0)
}

// load decodes block bi and moves to its first posting.
func (c *cursor) load(bi int) {
	c.bi = bi
	if bi >= c.nblk {
		c.doc = endDoc
		return
	}
	c.decodes++
	if !c.blk.decodeDocs(c.p, bi) {
		c.bad, c.doc, c.bi = true, endDoc, c.nblk
		return
	}
	c.dec, c.pos = bi, 0
	c.doc = c.blk.docs[0]
}

func (c *cursor) next() {
	c.pos++
	if c.pos < c.blk.n {
		c.doc = c.blk.docs[c.pos]
		return
	}
	c.load(c.dec + 1)
}

// shallow moves the block position to the block that could hold target,
// without decoding, and returns that block's score bound (0 past the end).
func (c *cursor) shallow(target uint32) float32 {
	for c.bi < c.nblk && c.p.lastDoc[c.bi] < target {
		c.bi++
	}
	if c.bi >= c.nblk {
		return 0
	}
	return c.p.blockMax[c.bi] * c.qtf
}

// advance moves to the first posting with doc >= target.
func (c *cursor) advance(target uint32) {
	if c.doc >= target {
		return
	}
	c.shallow(target)
	if c.bi >= c.nblk {
		c.doc = endDoc
		return
	}
	if c.bi != c.dec {
		c.load(c.bi)
		if c.doc == endDoc {
			return
		}
	}
	for c.blk.docs[c.pos] < target {
		c.pos++
	}
	c.doc = c.blk.docs[c.pos]
}

func (c *cursor) score(sc *scorer) float32 {
	return float32(c.qtf * sc.weight(c.idf, c.blk.tf(c.pos), c.doc))
}

// topk keeps the k best (score, doc) pairs: higher score first, lower doc
// first among equal scores. h is a min-heap on that order.
type topk struct {
	k int
	h []Scored
}

// worse reports whether a ranks below b.
func worse(a, b Scored) bool {
	return a.Score < b.Score || (a.Score == b.Score && a.Doc > b.Doc)
}

func (t *topk) full() bool { return len(t.h) == t.k }

// threshold is the score a new doc must beat once the heap is full.
func (t *topk) threshold() float32 { return t.h[0].Score }

func (t *topk) push(s Scored) {
	if len(t.h) < t.k {
		t.h = append(t.h, s)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(t.h[i], t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !worse(t.h[0], s) {
		return
	}
	t.h[0] = s
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(t.h) && worse(t.h[l], t.h[m]) {
			m = l
		}
		if r := l + 1; r < len(t.h) && worse(t.h[r], t.h[m]) {
			m = r
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the kept results best first.
func (t *topk) sorted() []Scored {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Doc, b.Doc)
	})
	return out
}

// maxScore runs block-max MaxScore over layered terms. Each term is in
// one of three modes: its full list is walked (essential), or only its
// high layer is walked and the rest is probed (a doc not in the layer gets
// at most hiCut from it), or it is only probed. As the k-th score rises,
// terms move to cheaper modes while the bound on docs found in no walked
// list (the sum of hiCut for layered terms and the maximum for probed
// ones) stays below it. Stretches of docs whose block bounds cannot beat
// it are skipped. Every doc that is fully scored gets the same float32
// sum, in query order, that exhaustive scoring computes, so results are
// identical to it.
//
// floor, when positive, is a known lower bound on the k-th best score (from
// seed); docs that cannot reach it are pruned from the start.
func (s *searcher) maxScore(sc *scorer, terms []qterm, k int, floor float32) []Scored {
	m := &msRun{sc: sc, cs: s.cursors(terms), contrib: s.contrib(len(terms)), top: topk{k: k, h: s.heap[:0]},
		mode: s.modes[:0], ess: s.ess[:0], probes: s.probes[:0]}
	for range terms {
		m.mode = append(m.mode, modeFull)
	}
	defer func() { s.heap, s.modes, s.ess, s.probes = m.top.h[:0], m.mode, m.ess, m.probes }()
	m.plan()
	if floor > 0 {
		// Only docs strictly below floor are provably out, so aim a little lower.
		m.raise(float64(floor) * (1 - 2*slack))
	}
	var target uint32 // no doc below target can still make the top k
	for {
		if m.thr > 0 {
			if next, skip := m.skipWindow(target); skip {
				if next == endDoc {
					break
				}
				target = next
				continue
			}
		}
		cur := uint32(endDoc)
		for _, c := range m.ess {
			c.advance(target)
			cur = min(cur, c.doc)
		}
		if cur == endDoc {
			break
		}
		if cur > target && m.thr > 0 {
			target = cur // check the bound at the doc actually found
			continue
		}
		if next := m.fastForward(cur); next != cur {
			target = next
			continue
		}
		target = cur + 1
		s.st.cands++
		if score, ok := m.scoreDoc(cur); ok && (!m.top.full() || score > m.top.threshold()) {
			m.top.push(Scored{Doc: cur, Score: score})
			if m.top.full() {
				m.raise(float64(m.top.threshold()))
			}
		}
		clear(m.contrib)
	}
	for _, c := range m.cs {
		s.st.decodes += c.decodes
	}
	return m.top.sorted()
}

// Term modes of maxScore.
const (
	modeFull  = iota // the full list is walked
	modeHi           // the high layer is walked, the rest probed
	modeProbe        // only probed
)

// probe is a term maxScore looks up for docs found in the walked lists.
type probe struct {
	c     *cursor // the term's full list
	bound float64 // its most for a doc not found in a walked list
}

// msRun is the state of one maxScore query.
type msRun struct {
	sc      *scorer
	cs      []cursor // per term: full list at 2*qi, high layer at 2*qi+1
	mode    []int    // per term
	ess     []*cursor
	probes  []probe   // descending bound
	rem     []float64 // rem[j] = sum of probes[j:].bound
	others  float64   // bound on a doc found in no walked list: rem[0]
	thr     float64   // positive once pruning is safe
	contrib []float32 // per query term, for the doc being scored
	top     topk
	// The block bounds change only when the target passes the end of some
	// cursor's block, so they are summed once per such window.
	window     float64
	windowEnd  uint32
	haveWindow bool
}

// termCost returns the postings term qi walks in mode, and the most it
// adds to the bound on docs found in no walked list.
func (m *msRun) termCost(qi, mode int) (cost int, bound float64) {
	full, hi := &m.cs[2*qi], &m.cs[2*qi+1]
	switch mode {
	case modeFull:
		return full.p.df, 0
	case modeHi:
		return hi.p.df, float64(hi.cut)
	}
	return 0, float64(full.max)
}

// raise lifts the threshold and moves terms to cheaper modes.
func (m *msRun) raise(thr float64) {
	if thr <= m.thr {
		return
	}
	m.thr = thr
	m.plan()
}

// plan moves terms, greedily by postings saved per unit of bound, to
// cheaper modes while the bound on docs found in no walked list stays
// below the threshold, then lists the walked and the probed terms.
func (m *msRun) plan() {
	changed := len(m.ess) == 0
	for m.thr > 0 {
		bestQ, bestMode, bestGain := -1, 0, 0.0
		for qi, mode := range m.mode {
			cost, bound := m.termCost(qi, mode)
			for to := mode + 1; to <= modeProbe; to++ {
				if to == modeHi && m.cs[2*qi+1].p == nil {
					continue
				}
				c2, b2 := m.termCost(qi, to)
				if (m.others+b2-bound)*(1+slack) > m.thr {
					continue
				}
				if g := float64(cost-c2+1) / (b2 - bound + 1e-9); g > bestGain {
					bestQ, bestMode, bestGain = qi, to, g
				}
			}
		}
		if bestQ < 0 {
			break
		}
		_, b := m.termCost(bestQ, m.mode[bestQ])
		_, b2 := m.termCost(bestQ, bestMode)
		m.others += b2 - b
		m.mode[bestQ] = bestMode
		changed = true
	}
	if !changed {
		return
	}
	m.haveWindow = false // the walked lists change
	m.ess, m.probes = m.ess[:0], m.probes[:0]
	for qi, mode := range m.mode {
		switch mode {
		case modeFull:
			m.ess = append(m.ess, &m.cs[2*qi])
			m.cs[2*qi].pb = 0
		case modeHi:
			m.ess = append(m.ess, &m.cs[2*qi+1])
			m.cs[2*qi+1].pb = float64(m.cs[2*qi+1].cut)
			m.probes = append(m.probes, probe{&m.cs[2*qi], float64(m.cs[2*qi+1].cut)})
		default:
			m.probes = append(m.probes, probe{&m.cs[2*qi], float64(m.cs[2*qi].max)})
		}
	}
	slices.SortFunc(m.probes, func(a, b probe) int { return cmp.Compare(b.bound, a.bound) })
	m.rem = slices.Grow(m.rem[:0], len(m.probes)+1)[:len(m.probes)+1]
	m.rem[len(m.probes)] = 0
	for j := len(m.probes) - 1; j >= 0; j-- {
		m.rem[j] = m.rem[j+1] + m.probes[j].bound
	}
	m.others = m.rem[0]
}

// skipWindow reports whether the window holding target cannot beat the
// threshold, using only the skip data of the walked lists (a doc in none
// of them is never scored), and where the next one starts.
func (m *msRun) skipWindow(target uint32) (uint32, bool) {
	if !m.haveWindow || target > m.windowEnd {
		m.window, m.windowEnd, m.haveWindow = m.others, endDoc, true
		for _, c := range m.ess {
			m.window += max(0, float64(c.shallow(target))-c.pb)
			if c.bi < c.nblk {
				m.windowEnd = min(m.windowEnd, c.p.lastDoc[c.bi])
			}
		}
	}
	if m.window*(1+slack) > m.thr {
		return target, false
	}
	if m.windowEnd == endDoc {
		return endDoc, true
	}
	return m.windowEnd + 1, true
}

// fastForward, with a single walked list, drops in a tight loop the
// postings that cannot reach the threshold even with every other term at
// its bound, and returns the first doc that might (cur if it might).
func (m *msRun) fastForward(cur uint32) uint32 {
	if m.thr <= 0 || len(m.ess) != 1 {
		return cur
	}
	c := m.ess[0]
	// A posting is dropped when its weight w = qtf*idf*k1p1*tf/(tf+norm)
	// is at most need; tested without the division, with a margin far
	// above float32 rounding.
	need := m.thr/(1+slack) - (m.others - c.pb)
	if need <= 0 {
		return cur
	}
	a := float64(c.qtf) * float64(c.idf) * float64(m.sc.k1p1) * (1 + 1e-6)
	norms := m.sc.norms
	for c.doc <= m.windowEnd && c.doc != endDoc {
		t := float64(c.blk.tf(c.pos))
		if a*t > need*(t+float64(norms[c.doc])) {
			break
		}
		c.next()
	}
	return c.doc
}

// scoreDoc scores cur: the walked terms, then the probed ones from the
// largest bound down until the doc provably cannot beat the threshold
// (ok false). The score is summed in query order.
func (m *msRun) scoreDoc(cur uint32) (score float32, ok bool) {
	// excess: the probe bounds (hiCut) of the layered terms found in
	// their high layer, which others counts but cur cannot get twice.
	var excess float64
	if m.thr > 0 {
		// First the block bounds of the walked lists holding cur: no
		// division, and most docs stop here.
		ub := m.others
		for _, c := range m.ess {
			if c.doc == cur {
				ub += float64(c.p.blockMax[c.dec]*c.qtf) - c.pb
				excess += c.pb
			}
		}
		if ub*(1+slack) <= m.thr {
			for _, c := range m.ess {
				if c.doc == cur {
					c.next()
				}
			}
			return 0, false
		}
	}
	var partial float64
	for _, c := range m.ess {
		if c.doc == cur {
			w := c.score(m.sc)
			m.contrib[c.qi] = w
			partial += float64(w)
			c.next()
		}
	}
	for j, pr := range m.probes {
		if m.thr > 0 && (partial+m.rem[j]-excess)*(1+slack) <= m.thr {
			return 0, false
		}
		c := pr.c
		if m.contrib[c.qi] != 0 {
			excess -= pr.bound
			continue // found in the term's high layer
		}
		var tf uint32
		if d := c.t.dense; d != nil && d[cur] < 255 {
			tf = uint32(d[cur]) // one load instead of a block decode
		} else if c.advance(cur); c.doc == cur {
			tf = c.blk.tf(c.pos)
		}
		if tf > 0 {
			w := float32(c.qtf * m.sc.weight(c.idf, tf, cur))
			m.contrib[c.qi] = w
			partial += float64(w)
		}
	}
	for _, w := range m.contrib {
		score += w
	}
	return score, true
}

// exhaustive scores every posting of every term: the reference that
// maxScore must match exactly.
func exhaustive(sc *scorer, terms []qterm, k int, n int) []Scored {
	acc := make([]float32, n)
	var blk block
	for _, q := range terms {
		for bi := range q.p.lastDoc {
			if !blk.decodeDocs(&q.p.postingList, bi) {
				break
			}
			for i := 0; i < blk.n; i++ {
				d := blk.docs[i]
				acc[d] += float32(q.qtf * sc.weight(q.idf, blk.tf(i), d))
			}
		}
	}
	top := topk{k: k}
	for d, s := range acc {
		if s > 0 {
			top.push(Scored{Doc: uint32(d), Score: s})
		}
	}
	return top.sorted()
}
