package kernels

import (
	"runtime"
	"sync"
)

// Config configures a [Kernels].
type Config struct {
	// Workers is the number of goroutines a large matrix product is split
	// across, the caller's included. 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Generic forces the portable Go kernels even where SIMD is available,
	// for parity tests against the assembly path.
	Generic bool
}

// Kernels runs matrix products across several cores. It owns Workers-1
// goroutines that sleep on a channel between calls, so a call allocates
// nothing. It is safe for concurrent use: one call at a time gets the
// workers, and a call that finds them busy runs on its own goroutine (the
// other cores are busy anyway). Call Close when done; an unreachable Kernels
// also stops its goroutines.
type Kernels struct {
	impl    impl
	workers int
	pool    *pool
	mu      sync.Mutex // held by the call that owns the workers
	closed  bool       // guarded by mu
}

// pool is the part of Kernels the worker goroutines and the cleanup see; it
// must not point back at Kernels or the cleanup would never run.
type pool struct {
	tasks chan task
	done  chan struct{}
	once  sync.Once
}

func (p *pool) stop() { p.once.Do(func() { close(p.tasks) }) }

// New returns Kernels splitting work across workers goroutines (0 means
// GOMAXPROCS), using the fastest kernels this CPU supports.
func New(workers int) *Kernels { return NewConfig(Config{Workers: workers}) }

// NewConfig returns Kernels configured by cfg.
func NewConfig(cfg Config) *Kernels {
	w := cfg.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	p := &pool{tasks: make(chan task), done: make(chan struct{}, w)}
	k := &Kernels{impl: best, workers: w, pool: p}
	if cfg.Generic {
		k.impl = generic
	}
	for range w - 1 {
		go worker(p.tasks, p.done)
	}
	runtime.AddCleanup(k, (*pool).stop, p)
	return k
}

// Close stops the worker goroutines. Calls after Close run single-threaded.
func (k *Kernels) Close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.pool.stop()
}

// Workers returns how many goroutines a large product is split across.
func (k *Kernels) Workers() int { return k.workers }

// SIMD reports whether k runs the assembly kernels.
func (k *Kernels) SIMD() bool { return k.impl.simd }

type op uint8

const (
	opT op = iota
	opNN
	opTN
	opVec
)

// task is one worker's share of a product: the whole problem restricted to
// rows [lo, hi) of out (or columns, when byCols is set).
type task struct {
	impl    impl
	op      op
	out     mat
	a, b    mat
	m, k, n int
	acc     bool
	byCols  bool
	lo, hi  int
}

func worker(tasks <-chan task, done chan<- struct{}) {
	for t := range tasks {
		t.run()
		done <- struct{}{}
	}
}

// run computes the task's block by offsetting the views; the kernels never
// see the rest of the matrices.
func (t task) run() {
	out, a, b, m, n := t.out, t.a, t.b, t.m, t.n
	if t.byCols {
		out.d = out.d[t.lo:]
		n = t.hi - t.lo
		switch t.op {
		case opT: // columns of out are rows of b
			b.d = b.d[t.lo*b.ld:]
		default: // columns of out are columns of b
			b.d = b.d[t.lo:]
		}
	} else {
		out.d = out.d[t.lo*out.ld:]
		m = t.hi - t.lo
		switch t.op {
		case opTN: // rows of out are columns of a
			a.d = a.d[t.lo:]
		default:
			a.d = a.d[t.lo*a.ld:]
		}
	}
	switch t.op {
	case opT:
		t.impl.matMulT(out, a, b, m, t.k, n, t.acc)
	case opNN:
		t.impl.matMulNN(out, a, b, m, t.k, n, t.acc)
	case opTN:
		t.impl.matMulTN(out, a, b, m, t.k, n)
	case opVec: // a is w(N,K) split by rows; out is a column
		t.impl.matVecT(out.d[:m], a.d[:m*t.k], b.d[:t.k], m, t.k)
	}
}

// parallelFlops is the smallest product (2·M·N·K) worth waking the workers
// for: below it the hand-off (a few microseconds) costs more than it saves.
const parallelFlops = 1 << 20

// split runs t across the workers when it is large enough, else on the
// caller's goroutine.
func (k *Kernels) split(t task) {
	w := k.workers
	flops := 2 * t.m * t.n * t.k
	if w <= 1 || flops < parallelFlops || !k.mu.TryLock() {
		t.lo, t.hi = 0, t.m
		t.run()
		return
	}
	defer k.mu.Unlock()
	if k.closed {
		t.lo, t.hi = 0, t.m
		t.run()
		return
	}
	// Split the longer side, in multiples of the kernels' tile so that
	// only the last share has a ragged edge.
	size, unit := t.m, 6
	if t.op == opVec {
		unit = 4
	} else if t.n > t.m {
		t.byCols, size, unit = true, t.n, 16
	}
	chunk := (size + w - 1) / w
	chunk = (chunk + unit - 1) / unit * unit
	sent := 0
	lo := chunk // the caller keeps [0, chunk)
	for ; lo < size && w > 1; lo += chunk {
		s := t
		s.lo, s.hi = lo, min(lo+chunk, size)
		k.pool.tasks <- s
		sent++
	}
	if sent > 0 {
		// The last worker readied sits in this P's runnext slot, which
		// idle Ps are slow to steal from (we measured ~200µs start
		// latency). Yielding runs it here and lets an idle P take us.
		runtime.Gosched()
	}
	t.lo, t.hi = 0, min(chunk, size)
	t.run()
	for range sent {
		<-k.pool.done
	}
}

// MatMulT is [MatMulT] split across k's workers.
func (k *Kernels) MatMulT(out, a, b []float32, m, kk, n int, accumulate bool) {
	checkMatMul(out, a, b, m, kk, n)
	k.split(task{impl: k.impl, op: opT, out: mat{out, n}, a: mat{a, kk}, b: mat{b, kk}, m: m, k: kk, n: n, acc: accumulate})
}

// MatMulNN is [MatMulNN] split across k's workers.
func (k *Kernels) MatMulNN(out, a, b []float32, m, kk, n int, accumulate bool) {
	checkMatMul(out, a, b, m, kk, n)
	k.split(task{impl: k.impl, op: opNN, out: mat{out, n}, a: mat{a, kk}, b: mat{b, n}, m: m, k: kk, n: n, acc: accumulate})
}

// MatMulTN is [MatMulTN] split across k's workers.
func (k *Kernels) MatMulTN(out, a, b []float32, m, kk, n int) {
	checkMatMul(out, a, b, m, kk, n)
	k.split(task{impl: k.impl, op: opTN, out: mat{out, n}, a: mat{a, m}, b: mat{b, n}, m: m, k: kk, n: n})
}

// MatVecT is [MatVecT] split across k's workers when w is large (a
// vocabulary projection); small layers stay on the caller's goroutine.
func (k *Kernels) MatVecT(out, w, x []float32, n, kk int) {
	checkLen("out", len(out), n)
	checkLen("w", len(w), n*kk)
	checkLen("x", len(x), kk)
	k.split(task{impl: k.impl, op: opVec, out: mat{out, 1}, a: mat{w, kk}, b: mat{x, kk}, m: n, k: kk, n: 1})
}
