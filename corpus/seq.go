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

// Stream is Seq for a generator: the passages of ps as they come, never an
// error (a corpus generated while it is indexed, never held in memory).
func Stream(ps iter.Seq[Passage]) iter.Seq2[Passage, error] {
	return func(yield func(Passage, error) bool) {
		for p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}
