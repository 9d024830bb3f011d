package search

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
)

// echo answers each query with k hits whose ids name the query, records
// every call's size and k, and holds calls while gate is closed.
type echo struct {
	mu    sync.Mutex
	calls [][2]int // queries, k
	gate  chan struct{}
	in    chan struct{} // a call has started
}

func (e *echo) Search(_ context.Context, qs []string, k int) ([][]Hit, error) {
	e.mu.Lock()
	e.calls = append(e.calls, [2]int{len(qs), k})
	e.mu.Unlock()
	if e.in != nil {
		select {
		case e.in <- struct{}{}:
		default:
		}
	}
	if e.gate != nil {
		<-e.gate
	}
	out := make([][]Hit, len(qs))
	for i, q := range qs {
		for j := range k {
			out[i] = append(out[i], Hit{Passage: corpus.Passage{ID: fmt.Sprintf("%s#%d", q, j)}})
		}
	}
	return out, nil
}

func TestCoalescerBatchesConcurrentCalls(t *testing.T) {
	e := &echo{gate: make(chan struct{}), in: make(chan struct{}, 1)}
	c := NewCoalescer(e, CoalesceConfig{MaxBatch: 16, Workers: 1})
	defer c.Close()
	// The first call holds the one worker, so the next 40 queue up.
	var wg sync.WaitGroup
	errs := make(chan error, 41)
	call := func(q string, k int) {
		defer wg.Done()
		hits, err := c.Search(context.Background(), []string{q}, k)
		switch {
		case err != nil:
			errs <- err
		case len(hits) != 1 || len(hits[0]) != k || hits[0][0].Passage.ID != q+"#0":
			errs <- fmt.Errorf("%s: got %v", q, hits)
		}
	}
	wg.Add(1)
	go call("first", 2)
	<-e.in
	for i := range 40 {
		wg.Add(1)
		go call(fmt.Sprint("q", i), 2+i%2) // two ks: never in one batch
	}
	for c.Stats().QueueDepth < 40 {
		runtime.Gosched()
	}
	close(e.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := c.Stats()
	if st.Queries != 41 || st.Batches >= 41 || st.Batches < 1+40/16 {
		t.Fatalf("%d queries in %d batches", st.Queries, st.Batches)
	}
	for _, cl := range e.calls {
		if cl[0] > 16 {
			t.Fatalf("a batch of %d queries exceeds MaxBatch 16", cl[0])
		}
	}
	t.Logf("41 single-query calls in %d inner calls: %v", len(e.calls), e.calls)
}

func TestCoalescerRefusesWhenFull(t *testing.T) {
	e := &echo{gate: make(chan struct{}), in: make(chan struct{}, 1)}
	c := NewCoalescer(e, CoalesceConfig{MaxBatch: 8, MaxQueue: 3, Workers: 1})
	defer c.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = c.Search(context.Background(), []string{"held"}, 1) }()
	<-e.in
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.Search(context.Background(), []string{fmt.Sprint(i)}, 1) }()
	}
	for c.Stats().QueueDepth < 3 {
		runtime.Gosched()
	}
	if _, err := c.Search(context.Background(), []string{"one too many"}, 1); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("fourth queued query: %v, want ErrOverloaded", err)
	}
	close(e.gate)
	wg.Wait()
	if st := c.Stats(); st.Rejected != 1 {
		t.Fatalf("rejected %d", st.Rejected)
	}
}
