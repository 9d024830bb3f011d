package bm25

// A query whose lists are short in all (the content words of real
// questions mostly occur in well under 2% of the passages) is cheapest
// scored term at a time: every posting added to a per-passage accumulator,
// in query term order, so each passage's float32 sum is the one exhaustive
// scoring computes and the results are identical to it. Pruning's fixed
// costs (the seed, planning, a pass over every window that holds a
// posting, probes that decode a block for one tf) are then larger than
// the postings it would skip.

// taatFrac: the term-at-a-time path takes queries whose lists hold at most
// N/taatFrac postings in all.
const taatFrac = 16

// useTAAT reports whether terms are scored term at a time.
func useTAAT(terms []qterm, n int) bool {
	total := 0
	for i := range terms {
		total += terms[i].p.df
	}
	return total*taatFrac <= n
}

// taat scores every posting of terms into the searcher's accumulator (one
// float32 per passage, allocated once and left zero between queries) and
// keeps the k best of the passages it touched.
func (s *searcher) taat(sc *scorer, terms []qterm, k, n int) []Scored {
	if len(s.acc) != n {
		s.acc = make([]float32, n)
	}
	acc := s.acc
	touched := s.touched[:0]
	blk := &s.blk
	for qi := range terms {
		q := &terms[qi]
		for bi := range q.p.lastDoc {
			if !blk.decodeDocs(&q.p.postingList, bi) {
				break // a damaged block: exhaustive scoring stops there too
			}
			tfs := blk.allTFs()
			for i, d := range blk.docs[:blk.n] {
				if acc[d] == 0 { // weights are positive: 0 means untouched
					touched = append(touched, d)
				}
				acc[d] += float32(q.qtf * sc.weight(q.idf, tfs[i]+1, d))
			}
		}
	}
	top := topk{k: k, h: s.heap[:0]}
	for _, d := range touched {
		if v := acc[d]; !top.full() || v >= top.threshold() {
			top.push(Scored{Doc: d, Score: v})
		}
		acc[d] = 0
	}
	s.touched, s.heap = touched[:0], top.h[:0]
	return top.sorted()
}
