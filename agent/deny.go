package agent

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
)

// DeniedFetcher refuses the URLs the leakage guard blocks, before any
// request is made, and counts them; the browser shows the refusal to the
// policy as it shows any page that could not be opened.
type DeniedFetcher struct {
	Inner   Fetcher
	List    *guard.DenyList
	blocked atomic.Int64
}

// Fetch implements Fetcher.
func (d *DeniedFetcher) Fetch(ctx context.Context, rawURL string) (*fetch.Page, error) {
	if rule, b := d.List.Blocks(rawURL); b {
		d.blocked.Add(1)
		return nil, fmt.Errorf("blocked by the evaluation's leakage guard (rule %s): this site publishes benchmark answers", rule)
	}
	return d.Inner.Fetch(ctx, rawURL)
}

// Blocked is the number of fetches refused so far.
func (d *DeniedFetcher) Blocked() int64 { return d.blocked.Load() }
