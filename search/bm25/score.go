package bm25

import "math"

// idf is Lucene's BM25 idf, ln(1 + (N - df + 0.5)/(df + 0.5)), which is
// always positive. (Bluge mis-parenthesises it; TestScoreHandComputed pins
// the numbers.)
func idf(n, df int) float32 {
	return float32(math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5)))
}

// scorer holds the per-passage length normalisation
// norm[d] = k1 * (1 - b + b*dl/avgdl), computed once per index. When the
// passages have at most 256 distinct norms (few distinct lengths, as in
// corpora of similar passages) each passage stores a one-byte code into a
// table of them instead of a float32: the same values in a quarter of the
// memory, which the search streams through.
type scorer struct {
	k1p1  float32
	norms []float32 // per passage, when codes is nil
	codes []uint8   // per passage: index into tab
	tab   *[256]float32
}

func newScorer(p Params, avgdl float64, docLen []uint32) *scorer {
	s := &scorer{k1p1: float32(p.K1 + 1)}
	norm := func(dl uint32) float32 { return float32(p.K1 * (1 - p.B + p.B*float64(dl)/avgdl)) }
	code := make(map[uint32]uint8)
	tab := new([256]float32)
	for _, dl := range docLen {
		if _, ok := code[dl]; !ok {
			if len(code) == len(tab) {
				code = nil
				break
			}
			tab[len(code)] = norm(dl)
			code[dl] = uint8(len(code))
		}
	}
	if code == nil {
		s.norms = make([]float32, len(docLen))
		for i, dl := range docLen {
			s.norms[i] = norm(dl)
		}
		return s
	}
	s.codes, s.tab = make([]uint8, len(docLen)), tab
	for i, dl := range docLen {
		s.codes[i] = code[dl]
	}
	return s
}

// norm returns passage doc's length normalisation.
func (s *scorer) norm(doc uint32) float32 {
	if s.codes != nil {
		return s.tab[s.codes[doc]]
	}
	return s.norms[doc]
}

// weight is the BM25 score of one posting: idf * tf*(k1+1) / (tf + norm).
// Pruned search, exhaustive search and the block-max bounds all call it,
// so their scores agree bit for bit. The float32 conversions forbid fused
// multiply-adds, which would make the result depend on inlining.
func (s *scorer) weight(idf float32, tf uint32, doc uint32) float32 {
	t := float32(tf)
	return float32(idf * float32(t*s.k1p1/(t+s.norm(doc))))
}
