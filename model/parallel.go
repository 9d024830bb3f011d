package model

import (
	"runtime"
	"sync"
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
