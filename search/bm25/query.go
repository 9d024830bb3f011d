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
	bi      int     // block of the next posting (may run ahead of dec)
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
	c.doc = 0 // nothing decoded yet (dec -1): advance does not trust it
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

// advance moves to the first posting with doc >= target.
func (c *cursor) advance(target uint32) {
	if c.doc >= target && c.dec >= 0 {
		return
	}
	c.seek(target)
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
	sc     *scorer
	st     *queryStats
	cs     []cursor // per term: full list at 2*qi, high layer at 2*qi+1
	mode   []int    // per term
	ess    []*cursor
	probes []probe // descending bound
	others float64 // bound on a doc found in no walked list: the probes' bounds summed
	thr    float64 // positive once pruning is safe
	top    topk
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
	m.others = 0
	for j := len(m.probes) - 1; j >= 0; j-- {
		m.others += m.probes[j].bound
	}
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
