package corpus

import "iter"

// Seq yields the passages of ps in order, never an error: a slice as the
// stream index builders read (bm25.Build, dense.Import).
func Seq(ps []Passage) iter.Seq2[Passage, error] {
	return func(yield func(Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}
