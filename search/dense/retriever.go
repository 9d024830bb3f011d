package dense

import (
	"context"
	"fmt"

	"github.com/sleuth-research/sleuth/search"
)

// Retriever answers text queries from an index: it embeds the queries (all
// of a batch in one Embed call) and searches each. It is safe for
// concurrent use when its Embedder is.
type Retriever struct {
	Index    *Index
	Embedder Embedder
	// QueryPrefix goes before every query ("query: " for e5).
	QueryPrefix string
	Options     SearchOptions
}

var _ search.Retriever = (*Retriever)(nil)

// Search implements search.Retriever.
func (r *Retriever) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	if len(queries) == 0 {
		return nil, nil
	}
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = r.QueryPrefix + q
	}
	vecs, err := r.Embedder.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("dense search: embed queries: %w", err)
	}
	if len(vecs) != len(queries) {
		return nil, fmt.Errorf("dense search: embedder returned %d vectors for %d queries", len(vecs), len(queries))
	}
	out := make([][]search.Hit, len(queries))
	for i, v := range vecs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := r.Index.Search(v, k, r.Options)
		if err != nil {
			return nil, err
		}
		hits := make([]search.Hit, 0, len(res))
		for rank, s := range res {
			p, err := r.Index.Passage(s.Doc)
			if err != nil {
				return nil, err
			}
			hits = append(hits, search.Hit{Passage: p, Score: float64(s.Score), Rank: rank})
		}
		out[i] = hits
	}
	return out, nil
}
