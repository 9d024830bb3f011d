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

// cursor walks one term's postings block by block.
type cursor struct {
	p       *termPostings
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

func (c *cursor) reset(q *qterm, qi int) {
	c.p, c.idf, c.qtf, c.qi = &q.p, q.idf, q.qtf, qi
	c.nblk = len(q.p.lastDoc)
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

// maxScore runs block-max MaxScore: terms are ordered by their bound; the
// longest prefix whose bounds together cannot beat the k-th score is
// "non-essential" and is only probed for docs found in the others, and
// stretches of docs whose block bounds cannot beat it are skipped. Every
// doc that is fully scored gets the same float32 sum, in query order, that
// exhaustive scoring computes, so results are identical to it.
//
// floor, when positive, is a known lower bound on the k-th best score (from
// the champion phase); docs that cannot reach it are pruned from the start.
func (s *searcher) maxScore(sc *scorer, terms []qterm, k int, floor float32) []Scored {
	m := &msRun{sc: sc, cs: s.cursors(terms), contrib: s.contrib(len(terms)), top: topk{k: k, h: s.heap[:0]}}
	defer func() { s.heap = m.top.h[:0] }()
	slices.SortFunc(m.cs, func(a, b *cursor) int { return cmp.Compare(a.max, b.max) })
	m.ub = s.ub[:0]
	var acc float64
	for _, c := range m.cs {
		acc += float64(c.max)
		m.ub = append(m.ub, acc)
	}
	s.ub = m.ub
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
		for _, c := range m.cs[m.ess:] {
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

// msRun is the state of one maxScore query.
type msRun struct {
	sc      *scorer
	cs      []*cursor // ascending bound
	ub      []float64 // ub[i] = sum of the bounds of cs[:i+1]
	ess     int       // cs[ess:] are essential
	thr     float64   // positive once pruning is safe
	contrib []float32 // per query term, for the doc being scored
	top     topk
	// The block bounds change only when the target passes the end of some
	// cursor's block, so they are summed once per such window.
	window     float64
	windowEnd  uint32
	haveWindow bool
}

// raise lifts the threshold and moves terms that can no longer make a doc
// competitive on their own out of the essential set.
func (m *msRun) raise(thr float64) {
	m.thr = max(m.thr, thr)
	for m.ess < len(m.cs) && m.ub[m.ess]*(1+slack) <= m.thr {
		m.ess++
	}
}

// skipWindow reports whether the window holding target cannot beat the
// threshold, using only the skip data, and where the next one starts.
func (m *msRun) skipWindow(target uint32) (uint32, bool) {
	if !m.haveWindow || target > m.windowEnd {
		m.window, m.windowEnd, m.haveWindow = 0, endDoc, true
		for _, c := range m.cs {
			m.window += float64(c.shallow(target))
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

// fastForward, with a single essential list, drops in a tight loop the
// postings that cannot reach the threshold even with every other term at
// its maximum, and returns the first doc that might (cur if it might).
func (m *msRun) fastForward(cur uint32) uint32 {
	n := len(m.cs)
	if m.thr <= 0 || m.ess != n-1 {
		return cur
	}
	c, rest := m.cs[m.ess], 0.0
	if m.ess > 0 {
		rest = m.ub[m.ess-1]
	}
	for c.doc <= m.windowEnd && (float64(c.score(m.sc))+rest)*(1+slack) <= m.thr {
		c.next()
	}
	return c.doc
}

// scoreDoc scores cur: the essential terms, then the others from the
// largest bound down until the doc provably cannot beat the threshold
// (ok false). The score is summed in query order.
func (m *msRun) scoreDoc(cur uint32) (score float32, ok bool) {
	var partial float64
	for _, c := range m.cs[m.ess:] {
		if c.doc == cur {
			w := c.score(m.sc)
			m.contrib[c.qi] = w
			partial += float64(w)
			c.next()
		}
	}
	for i := m.ess - 1; i >= 0; i-- {
		if m.thr > 0 && (partial+m.ub[i])*(1+slack) <= m.thr {
			return 0, false
		}
		c := m.cs[i]
		var tf uint32
		if d := c.p.dense; d != nil && d[cur] < 255 {
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
			if !blk.decodeDocs(&q.p, bi) {
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
