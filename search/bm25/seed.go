package bm25

import (
	"cmp"
	"slices"
)

// seedCand is a posting seed scores: its doc, term and weight (qtf 1).
type seedCand struct {
	doc uint32
	qi  int32
	w   float32
}

// seed returns a lower bound on the k-th best score (0 if it finds fewer
// than k docs): the k-th best among lower bounds on the scores of each
// term's k heaviest postings (from its champion list, or its whole list
// when short), which count the terms with a dense tf array exactly and
// the others not at all. Starting maxScore from it lets terms move to
// cheap modes at once.
func (s *searcher) seed(sc *scorer, terms []qterm, k int) float32 {
	cands := s.seedCands[:0]
	var blk block
	for qi := range terms {
		q := &terms[qi]
		best := s.seedBest[:0]
		add := func(d uint32, w float32) {
			if len(best) == k && w <= best[len(best)-1].Score {
				return
			}
			if len(best) < k {
				best = append(best, Scored{})
			}
			i := len(best) - 1
			for ; i > 0 && best[i-1].Score < w; i-- {
				best[i] = best[i-1]
			}
			best[i] = Scored{Doc: d, Score: w}
		}
		if len(q.p.champDoc) > 0 {
			for j, d := range q.p.champDoc[:min(k, len(q.p.champDoc))] { // heaviest first
				best = append(best, Scored{Doc: d, Score: q.p.champW[j]})
			}
		} else {
			for bi := range q.p.lastDoc {
				if len(best) == k && q.p.blockMax[bi] <= best[k-1].Score {
					continue
				}
				if !blk.decodeDocs(&q.p.postingList, bi) {
					break
				}
				for i := 0; i < blk.n; i++ {
					add(blk.docs[i], sc.weight(q.idf, blk.tf(i), blk.docs[i]))
				}
			}
		}
		for _, b := range best {
			cands = append(cands, seedCand{b.Doc, int32(qi), b.Score})
		}
		s.seedBest = best
	}
	s.seedCands = cands
	// Heaviest first, so the k-th score rises early and bounds skip the
	// lookups of most of the rest.
	slices.SortFunc(cands, func(a, b seedCand) int {
		if c := cmp.Compare(b.w*terms[b.qi].qtf, a.w*terms[a.qi].qtf); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.doc, b.doc), cmp.Compare(a.qi, b.qi))
	})
	var all float64 // the most any doc can score
	order := s.seedOrder[:0]
	for qi := range terms {
		all += float64(terms[qi].max * terms[qi].qtf)
		order = append(order, qi)
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Compare(terms[b].max*terms[b].qtf, terms[a].max*terms[a].qtf)
	})
	s.seedOrder = order
	ws := slices.Grow(s.seedW[:0], len(terms))[:len(terms)]
	s.seedW = ws
	top := topk{k: k, h: s.heap[:0]}
	defer func() { s.heap = top.h[:0] }()
	seen := s.seedSeen[:0]
next:
	for _, c := range cands {
		if slices.Contains(seen, c.doc) {
			continue
		}
		seen = append(seen, c.doc)
		// Look up the other terms, largest bound first, and drop the doc
		// once it cannot beat the k-th score so far.
		clear(ws)
		q := &terms[c.qi]
		ws[c.qi] = c.w * q.qtf
		partial, rem := float64(ws[c.qi]), all-float64(q.max*q.qtf)
		for _, qi := range order {
			if qi == int(c.qi) {
				continue
			}
			if top.full() && (partial+rem)*(1+slack) < float64(top.threshold()) {
				continue next
			}
			q := &terms[qi]
			if q.p.dense.b == nil {
				// A lookup in the blocks costs a cache miss or more; a
				// lower bound serves as well here: leave the term out.
				continue
			}
			rem -= float64(q.max * q.qtf)
			// A capped tf stands for itself: a lower bound, without a
			// lookup in the blocks.
			if tf := q.p.dense.get(c.doc); tf > 0 {
				ws[qi] = float32(q.qtf * sc.weight(q.idf, tf, c.doc))
				partial += float64(ws[qi])
			}
		}
		var score float32
		for _, w := range ws {
			score += w
		}
		top.push(Scored{Doc: c.doc, Score: score})
	}
	s.seedSeen = seen
	if !top.full() {
		return 0
	}
	return top.threshold()
}
