package bm25

import (
	"cmp"
	"slices"
	"sort"
)

// evalBudget*k candidates at most are scored exactly per stage.
const evalBudget = 32

// cand is a doc found in the lists read by the champion phase.
type cand struct {
	doc       uint32
	lo        float64 // sum of the known contributions: a lower bound
	bound     float64 // lo plus the bounds of the terms not known
	knownTail float64
	known     uint64 // bit qi set when term qi's contribution is in cw
}

// champList is one term's list as the champion phase reads it.
type champList struct {
	docs      []uint32
	ws        []float32 // weights (qtf 1) of docs
	ownDocs   []uint32
	ownWs     []float32
	short     bool    // the whole list is read: its contribution is exact
	max, tail float64 // bounds of the term outside what is read, times qtf
	bound     float64 // the bound used in the current stage
	read      bool
}

// champions answers the query without walking long posting lists when it
// can prove the answer exact, in two stages.
//
// Stage A reads only the short lists (at most 2*champSize postings); every
// other doc scores at most the sum of the frequent terms' maxima. Stage B
// also reads the frequent terms' champion lists; every doc outside them
// scores at most the sum of those terms' tails. In each stage the
// candidates are scored exactly in order of their upper bounds, looking up
// the frequent terms' postings only for those that can still make the top
// k, and once the k-th best beats the bound on every other doc strictly the
// top k is final. Otherwise it returns ok false and the k-th score found (0
// if none), a safe floor for maxScore.
func (s *searcher) champions(sc *scorer, terms []qterm, k, nDocs int) (res []Scored, ok bool, floor float32) {
	n := len(terms)
	if n > 64 {
		return nil, false, 0
	}
	if len(s.slot) < nDocs {
		s.slot = make([]int32, nDocs)
	}
	if cap(s.lists) < n {
		s.lists = make([]champList, n)
	}
	lists := s.lists[:n]
	anyShort, anyLong := false, false
	for qi := range terms {
		q := &terms[qi]
		l := &lists[qi]
		l.max, l.tail = float64(q.max*q.qtf), float64(q.p.tail*q.qtf)
		l.short = len(q.p.champDoc) == 0
		if !l.short {
			l.docs, l.ws = q.p.champDoc, q.p.champW
			anyLong = true
			continue
		}
		anyShort = true
		l.ownDocs, l.ownWs = l.ownDocs[:0], l.ownWs[:0]
		var blk block
		for bi := range q.p.lastDoc {
			if !blk.decodeDocs(&q.p, bi) {
				break
			}
			l.ownDocs = append(l.ownDocs, blk.docs[:blk.n]...)
			for i := 0; i < blk.n; i++ {
				l.ownWs = append(l.ownWs, sc.weight(q.idf, blk.tf(i), blk.docs[i]))
			}
		}
		l.docs, l.ws = l.ownDocs, l.ownWs
	}
	for stage := range 2 {
		if stage == 0 && (!anyShort || !anyLong) {
			continue // stage B alone reads the same lists
		}
		var others float64 // bound on every doc not read
		for qi := range lists {
			l := &lists[qi]
			switch {
			case l.short:
				l.bound, l.read = 0, true
			case stage == 0:
				l.bound, l.read = l.max, false
			default:
				l.bound, l.read = l.tail, true
			}
			others += l.bound
		}
		cands := s.gather(sc, terms, others)
		s.st.champCands += len(cands)
		if len(cands) < k {
			continue
		}
		// The stage's k-th score can be no higher than the k-th largest
		// upper bound: when that cannot beat the other docs' bound, skip
		// the exact scoring, keeping the k-th lower bound as the floor.
		if hi := s.kthLargest(cands, k, false); others*(1+slack) >= hi {
			floor = max(floor, float32(s.kthLargest(cands, k, true)*(1-2*slack)))
			continue
		}
		top, hopeless := s.evaluate(sc, terms, k, cands, floor, others)
		if !hopeless && (others == 0 || (top.full() && others*(1+slack) < float64(top.threshold()))) {
			return top.sorted(), true, 0
		}
		if top.full() {
			floor = max(floor, top.threshold())
		}
	}
	return nil, false, floor
}

// gather reads the lists marked read and returns one cand per doc, with
// each known contribution stored in s.cw (row = cand index, column = qi).
func (s *searcher) gather(sc *scorer, terms []qterm, others float64) []cand {
	n := len(terms)
	cands := s.cands[:0]
	cw := s.cw[:0]
	slot := s.slot
	for qi := range s.lists[:n] {
		l := &s.lists[qi]
		if !l.read {
			continue
		}
		q := &terms[qi]
		for j, d := range l.docs {
			w := float32(q.qtf * l.ws[j])
			ci := slot[d] - 1
			if ci < 0 {
				ci = int32(len(cands))
				slot[d] = ci + 1
				cands = append(cands, cand{doc: d})
				for range n {
					cw = append(cw, 0)
				}
			}
			c := &cands[ci]
			cw[int(ci)*n+qi] = w
			c.lo += float64(w)
			c.known |= 1 << qi
			c.knownTail += l.bound
		}
	}
	for i := range cands {
		c := &cands[i]
		c.bound = c.lo + (others - c.knownTail)
		slot[c.doc] = 0
	}
	s.cands, s.cw = cands, cw
	return cands
}

// evaluate scores the candidates that can make the top k exactly, best
// bound first, and returns the top k among them.
//
// It gives up (hopeless) as soon as the k-th best score can no longer beat
// others, the bound on the docs it has not read: the caller cannot finish
// then, and the threshold so far is all it needs.
func (s *searcher) evaluate(sc *scorer, terms []qterm, k int, cands []cand, floor float32, others float64) (top topk, hopeless bool) {
	n := len(terms)
	// The k-th largest lower bound is a floor on the k-th best score:
	// candidates whose upper bound is below it cannot make the top k.
	low := float64(floor) * (1 - 2*slack)
	if len(cands) >= k {
		low = max(low, s.kthLargest(cands, k, true))
	}
	live := s.live[:0]
	for i := range cands {
		if cands[i].bound*(1+slack) >= low {
			live = append(live, int32(i))
		}
	}
	s.live = live
	bh := boundHeap{live: live, cands: cands}
	bh.init()
	order := s.order[:0]
	for qi := range terms {
		order = append(order, qi)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(s.lists[b].bound, s.lists[a].bound) })
	s.order = order
	top = topk{k: k, h: s.heap[:0]}
	defer func() { s.heap = top.h }()
	budget := evalBudget * k
	for len(bh.live) > 0 {
		ci := bh.pop()
		c := &cands[ci]
		if top.full() && c.bound*(1+slack) < float64(top.threshold()) {
			break
		}
		// Every score still to come is at most c.bound.
		best := c.bound
		if top.full() {
			best = max(best, float64(top.threshold()))
		}
		if best*(1+slack) <= others {
			return top, true
		}
		// Near-ties among many candidates: a bounded effort still leaves
		// a good floor, and maxScore is cheaper than proving it here.
		if budget--; budget < 0 && top.full() {
			return top, true
		}
		row := s.cw[int(ci)*n : int(ci+1)*n]
		// Probe the unknown terms, largest bound first, and drop the doc
		// as soon as its bound falls below the threshold.
		bound, dropped := c.bound, false
		for _, qi := range order {
			if c.known&(1<<qi) != 0 || s.lists[qi].short {
				continue
			}
			l := &s.lists[qi]
			bound -= l.bound
			if tf := s.lookup(&terms[qi].p, c.doc); tf > 0 {
				w := float32(terms[qi].qtf * sc.weight(terms[qi].idf, tf, c.doc))
				row[qi] = w
				bound += float64(w)
			}
			if top.full() && bound*(1+slack) < float64(top.threshold()) {
				dropped = true
				break
			}
		}
		if dropped {
			continue
		}
		var score float32
		for _, w := range row {
			score += w
		}
		top.push(Scored{Doc: c.doc, Score: score}) // push keeps ties by lower doc
	}
	return top, false
}

// kthLargest returns the k-th largest lower (lo) or upper bound among
// cands, which must hold at least k.
func (s *searcher) kthLargest(cands []cand, k int, lo bool) float64 {
	h := s.lows[:0] // min-heap of the k largest so far
	for i := range cands {
		v := cands[i].bound
		if lo {
			v = cands[i].lo
		}
		if len(h) < k {
			h = append(h, v)
			for j := len(h) - 1; j > 0 && h[(j-1)/2] > h[j]; j = (j - 1) / 2 {
				h[j], h[(j-1)/2] = h[(j-1)/2], h[j]
			}
			continue
		}
		if v <= h[0] {
			continue
		}
		h[0] = v
		for j := 0; ; {
			l, m := 2*j+1, j
			if l < len(h) && h[l] < h[m] {
				m = l
			}
			if r := l + 1; r < len(h) && h[r] < h[m] {
				m = r
			}
			if m == j {
				break
			}
			h[j], h[m] = h[m], h[j]
			j = m
		}
	}
	s.lows = h
	return h[0]
}

// lookup returns the tf of doc in p, or 0.
func (s *searcher) lookup(p *termPostings, doc uint32) uint32 {
	s.st.lookups++
	if p.dense != nil {
		if tf := p.dense[doc]; tf < 255 {
			return uint32(tf)
		}
	}
	bi := sort.Search(len(p.lastDoc), func(i int) bool { return p.lastDoc[i] >= doc })
	if bi == len(p.lastDoc) {
		return 0
	}
	return findTF(p, bi, doc)
}

// boundHeap pops candidates in descending bound order; building it is
// linear, so only the candidates actually examined pay for ordering.
type boundHeap struct {
	live  []int32
	cands []cand
}

func (h *boundHeap) less(i, j int) bool {
	return h.cands[h.live[i]].bound > h.cands[h.live[j]].bound
}

func (h *boundHeap) down(i int) {
	n := len(h.live)
	for {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r := l + 1; r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		h.live[i], h.live[m] = h.live[m], h.live[i]
		i = m
	}
}

func (h *boundHeap) init() {
	for i := len(h.live)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *boundHeap) pop() int32 {
	top := h.live[0]
	last := len(h.live) - 1
	h.live[0] = h.live[last]
	h.live = h.live[:last]
	h.down(0)
	return top
}
