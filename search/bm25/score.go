package bm25

import "math"

// idf is Lucene's BM25 idf, ln(1 + (N - df + 0.5)/(df + 0.5)), which is
// always positive. (Bluge mis-parenthesises it; TestScoreHandComputed pins
// the numbers.)
func idf(n, df int) float32 {
	return float32(math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5)))
}

// scorer holds the per-passage length normalisation
// norm[d] = k1 * (1 - b + b*dl/avgdl), computed once per index.
type scorer struct {
	k1p1  float32
	norms []float32
}

func newScorer(p Params, avgdl float64, docLen []uint32) *scorer {
	s := &scorer{k1p1: float32(p.K1 + 1), norms: make([]float32, len(docLen))}
	for i, dl := range docLen {
		s.norms[i] = float32(p.K1 * (1 - p.B + p.B*float64(dl)/avgdl))
	}
	return s
}

// weight is the BM25 score of one posting: idf * tf*(k1+1) / (tf + norm).
// Pruned search, exhaustive search and the block-max bounds all call it,
// so their scores agree bit for bit. The float32 conversions forbid fused
// multiply-adds, which would make the result depend on inlining.
func (s *scorer) weight(idf float32, tf uint32, doc uint32) float32 {
	t := float32(tf)
	return float32(idf * float32(t*s.k1p1/(t+s.norms[doc])))
}
