package web

import (
	"context"
	"sync/atomic"

	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/search"
)

// Denied is a Retriever that drops the hits the leakage guard blocks (by
// Meta["url"], or the passage ID, which web hits set to the URL) and
// counts them. It asks R for k hits per query, so a query can return
// fewer than k after the guard: the policy sees what is left, not a
// deeper page of results. Safe for concurrent use when R is.
type Denied struct {
	R       search.Retriever
	List    *guard.DenyList
	blocked atomic.Int64
}

// Search implements search.Retriever.
func (d *Denied) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	res, err := d.R.Search(ctx, queries, k)
	if err != nil {
		return res, err
	}
	for i, hits := range res {
		kept := hits[:0:0]
		for _, h := range hits {
			u := h.Passage.Meta["url"]
			if u == "" {
				u = h.Passage.ID
			}
			if _, b := d.List.Blocks(u); b {
				d.blocked.Add(1)
				continue
			}
			kept = append(kept, h)
		}
		res[i] = kept
	}
	return res, nil
}

// Blocked is the number of hits dropped so far.
func (d *Denied) Blocked() int64 { return d.blocked.Load() }
