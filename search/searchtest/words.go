// Package searchtest holds a retriever for tests of the packages above
// search: the runner, the evaluator and the servers all need a few
// passages searched the same simple way.
package searchtest

import (
	"context"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// Words is a retriever over a few passages: a passage matches when it
// contains a word of the query, scored by how many; hits stay in passage
// order, cut to k.
type Words []corpus.Passage

func (m Words) Search(_ context.Context, qs []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(qs))
	for i, q := range qs {
		for _, p := range m {
			score := 0.0
			for _, w := range strings.Fields(strings.ToLower(q)) {
				if strings.Contains(strings.ToLower(p.Title+" "+p.Text), w) {
					score++
				}
			}
			if score > 0 {
				out[i] = append(out[i], search.Hit{Passage: p, Score: score})
			}
		}
		if len(out[i]) > k {
			out[i] = out[i][:k]
		}
	}
	return out, nil
}
