package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor splits [0,n) across GOMAXPROCS goroutines when work (about
// the number of multiply-adds) is large enough to repay the start-up.
func parallelFor(n, work int, fn func(worker, lo, hi int)) {
	parallelForW(runtime.GOMAXPROCS(0), n, work, fn)
}

// parallelForW is parallelFor with at most maxWorkers goroutines, for
// callers holding per-worker scratch.
func parallelForW(maxWorkers, n, work int, fn func(worker, lo, hi int)) {
	workers := min(maxWorkers, n)
	if workers <= 1 || work < 1<<15 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { fn(w, lo, hi) })
	}
	wg.Wait()
}

// parallelEach runs fn(worker, i) for every i in [0,n) on at most
// maxWorkers goroutines that claim items one at a time, so a goroutine
// whose core is busy with other work takes fewer items instead of holding
// up the rest (parallelForW's fixed split waits for the slowest). fn's
// result must not depend on which worker runs an item (worker only picks
// scratch), which keeps the output the same for any number of cores.
func parallelEach(maxWorkers, n, work int, fn func(worker, i int)) {
	workers := min(maxWorkers, n)
	if workers <= 1 || work < 1<<15 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// clearAll zeroes each slice, split across cores: a long batch's gradient
// buffers are megabytes each, and zeroing them one core at a time left the
// other idle.
func clearAll(xs ...[]float32) {
	for _, x := range xs {
		parallelFor(len(x), len(x)/8, func(_, lo, hi int) { clear(x[lo:hi]) })
	}
}
