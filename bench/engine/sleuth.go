package engine

import (
	"context"
	"fmt"
	"iter"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// sleuth's layout: search/bm25 with its default BuildOptions (its default
// analyzer, k1=0.9, b=0.4, title and text analysed as one field, text stored
// compressed, analysis on GOMAXPROCS workers). Queries go through TopK, the
// exact top-k with dynamic pruning, which returns internal passage numbers
// that ID maps to passage ids.
type sleuthEngine struct{}

func (sleuthEngine) Build(ctx context.Context, dir string, passages iter.Seq[corpus.Passage]) error {
	withErr := func(yield func(corpus.Passage, error) bool) {
		for p := range passages {
			if !yield(p, nil) {
				return
			}
		}
	}
	if _, err := bm25.Build(ctx, dir, withErr, bm25.BuildOptions{}); err != nil {
		return fmt.Errorf("sleuth: build %s: %w", dir, err)
	}
	return nil
}

func (sleuthEngine) Open(_ context.Context, dir string) (Index, error) {
	ix, err := bm25.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("sleuth: open %s: %w", dir, err)
	}
	return sleuthIndex{ix: ix}, nil
}

type sleuthIndex struct{ ix *bm25.Index }

func (s sleuthIndex) Search(_ context.Context, q string, k int) ([]string, error) {
	hits := s.ix.TopK(q, k)
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = s.ix.ID(h.Doc)
	}
	return ids, nil
}

func (s sleuthIndex) Close() error { return s.ix.Close() }
