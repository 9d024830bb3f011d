package bm25

import (
	"cmp"
	"slices"
	"sort"
)

// cand is a doc found in the champion lists (or the short full lists) of
// the query's terms.
type cand struct {
	doc   uint32
	idx   int32   // row in searcher.cw
	lo    float64 // sum of the known contributions: a lower bound
	bound float64 // lo plus the tails of the terms not known: an upper bound
	known uint64  // bit qi set when term qi's contribution is in cw
}

// champions answers the query from champion lists when it can prove the
// answer exact. Every doc outside the candidates scores at most the sum of
// the frequent terms' tails, so once the k-th best candidate beats that
// sum strictly the top k is final. Candidates are scored exactly in order
// of their upper bounds, with postings lookups only for the few that can
// still make the top k. When it cannot prove the answer it returns ok
// false and the k-th score it found (0 if none), a safe floor for maxScore.
func (s *searcher) champions(sc *scorer, terms []qterm, k int) (res []Scored, ok bool, floor float32) {
	n := len(terms)
	if n > 64 {
		return nil, false, 0
	}
	if cap(s.lists) < n {
		s.lists = make([]champList, n)
	}
	lists := s.lists[:n]
	var tails float64
	for qi := range terms {
		q := &terms[qi]
		l := &lists[qi]
		l.pos = 0
		l.tail = float64(q.p.tail * q.qtf)
		tails += l.tail
		if len(q.p.champDoc) > 0 {
			l.docs, l.tfs = q.p.champDoc, q.p.champTF
			continue
		}
		// A short list: read it whole.
		l.ownDocs, l.ownTFs = l.ownDocs[:0], l.ownTFs[:0]
		var blk block
		for bi := range q.p.lastDoc {
			if !blk.decodeDocs(&q.p, bi) {
				break
			}
			l.ownDocs = append(l.ownDocs, blk.docs[:blk.n]...)
			for i := 0; i < blk.n; i++ {
				l.ownTFs = append(l.ownTFs, blk.tf(i))
			}
		}
		l.docs, l.tfs = l.ownDocs, l.ownTFs
	}
	cands := s.merge(sc, terms, lists)

	// The k-th largest lower bound is a floor on the k-th best score:
	// candidates whose upper bound is below it cannot make the top k.
	var low float64
	if len(cands) >= k {
		lows := s.lows[:0]
		for _, c := range cands {
			lows = append(lows, c.lo)
		}
		s.lows = lows
		slices.Sort(lows)
		low = lows[len(lows)-k]
	}
	live := cands[:0]
	for _, c := range cands {
		if c.bound*(1+slack) >= low {
			live = append(live, c)
		}
	}
	slices.SortFunc(live, func(a, b cand) int { return cmp.Compare(b.bound, a.bound) })

	top := topk{k: k, h: s.heap[:0]}
	defer func() { s.heap = top.h[:0] }()
	for _, c := range live {
		if top.full() && c.bound*(1+slack) < float64(top.threshold()) {
			break
		}
		row := s.cw[int(c.idx)*n : int(c.idx+1)*n]
		var score float32
		for qi := range terms {
			w := row[qi]
			if c.known&(1<<qi) == 0 && lists[qi].tail > 0 {
				if tf := s.lookup(&terms[qi].p, c.doc); tf > 0 {
					w = float32(terms[qi].qtf * sc.weight(terms[qi].idf, tf, c.doc))
				}
			}
			score += w
		}
		if !top.full() || score > top.threshold() {
			top.push(Scored{Doc: c.doc, Score: score})
		}
	}
	if tails == 0 {
		return top.sorted(), true, 0 // every matching doc was a candidate
	}
	if !top.full() {
		return nil, false, 0
	}
	if tails*(1+slack) < float64(top.threshold()) {
		return top.sorted(), true, 0
	}
	return nil, false, top.threshold()
}

// champList is one term's champion (or whole) list being merged.
type champList struct {
	docs, tfs       []uint32
	ownDocs, ownTFs []uint32
	pos             int
	tail            float64
}

// merge walks the lists in doc order and returns one cand per doc, with
// each known contribution stored in s.cw (row idx, column qi).
func (s *searcher) merge(sc *scorer, terms []qterm, lists []champList) []cand {
	n := len(terms)
	cands := s.cands[:0]
	cw := s.cw[:0]
	for {
		cur := uint32(endDoc)
		for qi := range lists {
			if l := &lists[qi]; l.pos < len(l.docs) {
				cur = min(cur, l.docs[l.pos])
			}
		}
		if cur == endDoc {
			break
		}
		c := cand{doc: cur, idx: int32(len(cands))}
		for range n {
			cw = append(cw, 0)
		}
		row := cw[len(cw)-n:]
		for qi := range lists {
			l := &lists[qi]
			if l.pos < len(l.docs) && l.docs[l.pos] == cur {
				w := float32(terms[qi].qtf * sc.weight(terms[qi].idf, l.tfs[l.pos], cur))
				row[qi] = w
				c.lo += float64(w)
				c.known |= 1 << qi
				l.pos++
			} else {
				c.bound += l.tail
			}
		}
		c.bound += c.lo
		cands = append(cands, c)
	}
	s.cands, s.cw = cands, cw
	return cands
}

// lookup returns the tf of doc in p, or 0.
func (s *searcher) lookup(p *termPostings, doc uint32) uint32 {
	bi := sort.Search(len(p.lastDoc), func(i int) bool { return p.lastDoc[i] >= doc })
	if bi == len(p.lastDoc) || !s.lk.decodeDocs(p, bi) {
		return 0
	}
	docs := s.lk.docs[:s.lk.n]
	i := sort.Search(len(docs), func(i int) bool { return docs[i] >= doc })
	if i < len(docs) && docs[i] == doc {
		return s.lk.tf(i)
	}
	return 0
}
