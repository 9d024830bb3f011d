package web

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/search"
)

// Ledger counts what web searches cost. All methods are safe for concurrent
// use; the zero value is ready. A nil *Ledger ignores charges.
type Ledger struct {
	requests  atomic.Int64
	queries   atomic.Int64
	cacheHits atomic.Int64
	retries   atomic.Int64
	failures  atomic.Int64
	nanoUSD   atomic.Int64 // dollars × 1e9, so sums stay exact integers
	latencyNS atomic.Int64
}

// Cost is a snapshot of a Ledger.
type Cost struct {
	Requests  int64         `json:"requests"`   // HTTP requests sent, retries included
	Queries   int64         `json:"queries"`    // queries answered by a provider (not the cache)
	CacheHits int64         `json:"cache_hits"` // queries answered by the cache
	Retries   int64         `json:"retries"`    // attempts after the first
	Failures  int64         `json:"failures"`   // queries that failed after all attempts
	Dollars   float64       `json:"dollars"`
	Latency   time.Duration `json:"latency_ns"` // summed wall time of provider requests
}

// Cost returns the current totals.
func (l *Ledger) Cost() Cost {
	if l == nil {
		return Cost{}
	}
	return Cost{
		Requests:  l.requests.Load(),
		Queries:   l.queries.Load(),
		CacheHits: l.cacheHits.Load(),
		Retries:   l.retries.Load(),
		Failures:  l.failures.Load(),
		Dollars:   float64(l.nanoUSD.Load()) / 1e9,
		Latency:   time.Duration(l.latencyNS.Load()),
	}
}

// Sub returns c minus before: the cost of what happened between two snapshots.
func (c Cost) Sub(before Cost) Cost {
	return Cost{
		Requests:  c.Requests - before.Requests,
		Queries:   c.Queries - before.Queries,
		CacheHits: c.CacheHits - before.CacheHits,
		Retries:   c.Retries - before.Retries,
		Failures:  c.Failures - before.Failures,
		Dollars:   c.Dollars - before.Dollars,
		Latency:   c.Latency - before.Latency,
	}
}

func (l *Ledger) request(latency time.Duration, retry bool) {
	if l == nil {
		return
	}
	l.requests.Add(1)
	l.latencyNS.Add(int64(latency))
	if retry {
		l.retries.Add(1)
	}
}

func (l *Ledger) answered(dollars float64) {
	if l == nil {
		return
	}
	l.queries.Add(1)
	l.nanoUSD.Add(int64(math.Round(dollars * 1e9)))
}

func (l *Ledger) cacheHit() {
	if l != nil {
		l.cacheHits.Add(1)
	}
}

func (l *Ledger) failed() {
	if l != nil {
		l.failures.Add(1)
	}
}

type ledgerKey struct{}

// WithLedger returns a context whose web searches are also charged to l, for
// example an agent episode's ledger while the client is shared by many.
func WithLedger(ctx context.Context, l *Ledger) context.Context {
	return context.WithValue(ctx, ledgerKey{}, l)
}

// LedgerFrom returns the ledger WithLedger put in ctx, or nil.
func LedgerFrom(ctx context.Context) *Ledger {
	l, _ := ctx.Value(ledgerKey{}).(*Ledger)
	return l
}

// SearchWithCost runs one Search and returns what it cost: the requests,
// dollars and latency charged to a fresh ledger in its context. Wrappers that
// pass the context on (Recorder) report their inner client's cost; a
// Replayer's calls cost nothing.
func SearchWithCost(ctx context.Context, r search.Retriever, queries []string, k int) ([][]search.Hit, Cost, error) {
	var l Ledger
	hits, err := r.Search(WithLedger(ctx, &l), queries, k)
	return hits, l.Cost(), err
}

// ledgers charges the client's ledger and the context's, once each.
type ledgers struct{ a, b *Ledger }

func (ls ledgers) each(f func(*Ledger)) {
	f(ls.a)
	if ls.b != ls.a {
		f(ls.b)
	}
}
