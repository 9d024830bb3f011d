package fetch

import (
	"context"
	"fmt"
)

// ExtractLimits bound the work of one extraction, so that a small hostile
// page (tens of thousands of style rules, a million nested elements) costs
// a bounded, small amount of CPU. A page over a limit is truncated: the
// text kept is the part extracted with full knowledge of the page's styles,
// and Document.Truncated says why the rest is missing. Zero fields take the
// defaults.
type ExtractLimits struct {
	MaxRules    int // style rules (selectors) indexed; default 20,000, more and no body text is returned
	MaxElements int // elements kept, in document order; default 100,000
	MaxDepth    int // element nesting kept; default 256
	MaxWork     int // selector-matching steps; default 4,000,000 (well under a second)
}

const (
	defaultMaxRules    = 20_000
	defaultMaxElements = 100_000
	defaultMaxDepth    = 256
	defaultMaxWork     = 4_000_000
)

func (l ExtractLimits) withDefaults() ExtractLimits {
	if l.MaxRules <= 0 {
		l.MaxRules = defaultMaxRules
	}
	if l.MaxElements <= 0 {
		l.MaxElements = defaultMaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxWork <= 0 {
		l.MaxWork = defaultMaxWork
	}
	return l
}

// workBudget counts selector-matching steps and watches a context. Once
// spent it stays spent; reason says why. It is used by one goroutine.
type workBudget struct {
	ctx    context.Context
	left   int
	tick   int
	reason string
}

func newWorkBudget(ctx context.Context, steps int) *workBudget {
	return &workBudget{ctx: ctx, left: steps}
}

// spend takes n steps and reports whether the budget still holds.
func (b *workBudget) spend(n int) bool {
	if b == nil {
		return true
	}
	if b.reason != "" {
		return false
	}
	b.left -= n
	if b.left < 0 {
		b.reason = "the page's style rules need more matching work than the limit allows"
		return false
	}
	// Checking the context costs a lock; every 1024 calls is often enough
	// for a deadline of tens of milliseconds.
	if b.tick++; b.tick&1023 == 0 && b.ctx != nil {
		if err := b.ctx.Err(); err != nil {
			b.reason = fmt.Sprintf("extraction stopped: %v", err)
			return false
		}
	}
	return true
}

func (b *workBudget) spent() bool { return b != nil && b.reason != "" }
