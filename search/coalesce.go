package search

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrOverloaded is returned by a Coalescer whose queue is full; servers
// answer it with 503 and Retry-After.
var ErrOverloaded = errors.New("search queue full")

// CoalesceConfig configures a Coalescer. Zero fields take the defaults.
type CoalesceConfig struct {
	// MaxBatch bounds the queries of one inner Search call. Default 64.
	MaxBatch int
	// MaxQueue bounds the queries waiting for a batch; a call that would
	// pass it fails at once with ErrOverloaded. Default 4,096.
	MaxQueue int
	// Workers is how many inner calls run at once. Default 2.
	Workers int
}

// BatchSizeBuckets are the upper bounds of CoalesceStats.BatchSizes.
var BatchSizeBuckets = [...]int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}

// CoalesceStats is a Coalescer's counters.
type CoalesceStats struct {
	QueueDepth int64 // queries waiting now
	Batches    int64 // inner Search calls made for queued queries
	Queries    int64 // queries those calls carried
	Rejected   int64 // calls refused with ErrOverloaded
	// BatchSizes counts batches by size, bucket i holding sizes up to
	// BatchSizeBuckets[i] (the last also everything above).
	BatchSizes [len(BatchSizeBuckets)]int64
}

// Coalescer is a Retriever that merges concurrent small Search calls into
// batched calls of the Retriever it wraps, as llm/local merges generation:
// the agent sends one query per tool call, and a batch-first index
// answers many queries for about the cost of a few. There is no waiting
// window: a free worker takes everything queued (calls of one k, up to
// MaxBatch queries), so a lone call goes at once and batches grow only
// when calls arrive faster than the index answers. Calls of MaxBatch
// queries or more go straight through. Safe for concurrent use; Close
// stops the workers.
type Coalescer struct {
	r   Retriever
	cfg CoalesceConfig

	mu     sync.Mutex
	wake   *sync.Cond
	queue  []*coalesced
	queued int
	closed bool
	wg     sync.WaitGroup

	batches, queries, rejected atomic.Int64
	sizes                      [len(BatchSizeBuckets)]atomic.Int64
}

type coalesced struct {
	ctx     context.Context
	queries []string
	k       int
	done    chan coalescedResult // buffered: a worker never waits on a caller that left
}

type coalescedResult struct {
	hits [][]Hit
	err  error
}

// NewCoalescer starts a Coalescer over r.
func NewCoalescer(r Retriever, cfg CoalesceConfig) *Coalescer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 4096
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	c := &Coalescer{r: r, cfg: cfg}
	c.wake = sync.NewCond(&c.mu)
	for range cfg.Workers {
		c.wg.Go(c.work)
	}
	return c
}

// Search answers queries, batched with other callers' when it waits.
func (c *Coalescer) Search(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	if len(queries) >= c.cfg.MaxBatch {
		return c.r.Search(ctx, queries, k)
	}
	item := &coalesced{ctx: ctx, queries: queries, k: k, done: make(chan coalescedResult, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("search: coalescer closed")
	}
	if c.queued+len(queries) > c.cfg.MaxQueue {
		c.mu.Unlock()
		c.rejected.Add(1)
		return nil, ErrOverloaded
	}
	c.queue = append(c.queue, item)
	c.queued += len(queries)
	c.mu.Unlock()
	c.wake.Signal()
	select {
	case r := <-item.done:
		return r.hits, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// take removes the next batch from the queue: the oldest call and the
// queued calls with its k, up to MaxBatch queries. It waits for work and
// returns nil once the Coalescer is closed and drained.
func (c *Coalescer) take() []*coalesced {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) == 0 {
		if c.closed {
			return nil
		}
		c.wake.Wait()
	}
	k := c.queue[0].k
	var batch []*coalesced
	n := 0
	rest := c.queue[:0]
	for _, it := range c.queue {
		if it.k == k && n+len(it.queries) <= c.cfg.MaxBatch || len(batch) == 0 {
			batch = append(batch, it)
			n += len(it.queries)
			continue
		}
		rest = append(rest, it)
	}
	clear(c.queue[len(rest):])
	c.queue = rest
	c.queued -= n
	if len(c.queue) > 0 {
		c.wake.Signal() // another worker may take the rest
	}
	return batch
}

func (c *Coalescer) work() {
	for {
		batch := c.take()
		if batch == nil {
			return
		}
		c.run(batch)
	}
}

// run makes one inner call for a batch, leaving out callers that have
// already gone, and hands each its share of the results.
func (c *Coalescer) run(batch []*coalesced) {
	live := batch[:0]
	var qs []string
	for _, it := range batch {
		if it.ctx.Err() == nil {
			live = append(live, it)
			qs = append(qs, it.queries...)
		}
	}
	if len(live) == 0 {
		return
	}
	c.batches.Add(1)
	c.queries.Add(int64(len(qs)))
	b := len(BatchSizeBuckets) - 1
	for i, ub := range BatchSizeBuckets {
		if len(qs) <= ub {
			b = i
			break
		}
	}
	c.sizes[b].Add(1)
	// The batch serves several callers, so no one caller's context bounds
	// it; callers that leave stop waiting, and a batch is short.
	ctx := context.Background()
	hits, err := c.r.Search(ctx, qs, live[0].k)
	if err == nil && len(hits) != len(qs) {
		err = errors.New("search: retriever returned a wrong number of result lists")
	}
	off := 0
	for _, it := range live {
		if err != nil {
			it.done <- coalescedResult{err: err}
			continue
		}
		it.done <- coalescedResult{hits: hits[off : off+len(it.queries) : off+len(it.queries)]}
		off += len(it.queries)
	}
}

// Stats returns the counters so far.
func (c *Coalescer) Stats() CoalesceStats {
	c.mu.Lock()
	depth := c.queued
	c.mu.Unlock()
	s := CoalesceStats{QueueDepth: int64(depth), Batches: c.batches.Load(), Queries: c.queries.Load(), Rejected: c.rejected.Load()}
	for i := range s.BatchSizes {
		s.BatchSizes[i] = c.sizes[i].Load()
	}
	return s
}

// Close stops the workers after the queued calls are answered.
func (c *Coalescer) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wake.Broadcast()
	c.wg.Wait()
}
