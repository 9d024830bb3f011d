package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Config configures a [Kernels].
type Config struct {
	// Workers is the number of goroutines a large matrix product is split
	// across, the caller's included. 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Generic forces the portable Go kernels even where SIMD is available,
	// for parity tests against the assembly path.
	Generic bool
	// MinParallelFlops is the smallest product, in 2·M·N·K floating-point
	// operations, that is split across workers; smaller ones run on the
	// caller's goroutine. 0 means DefaultMinParallelFlops.
	MinParallelFlops int
}

// DefaultMinParallelFlops: below about 1 MFLOP (roughly 10µs on one core)
// waking a worker costs more than it saves; see BenchmarkSplitThreshold.
const DefaultMinParallelFlops = 1 << 20

// Kernels runs matrix products across several cores. It owns Workers-1
// goroutines that sleep on a channel between calls, so a call allocates
// nothing. It is safe for concurrent use: one call at a time gets the
// workers, and a call that finds them busy runs on its own goroutine (the
// other cores are busy anyway). Call Close when done; an unreachable Kernels
// also stops its goroutines.
type Kernels struct {
	impl     impl
	workers  int
	minFlops int
	pool     *pool
	mu       sync.Mutex // held by the call that owns the workers
	closed   bool       // guarded by mu
}

// pool is the part of Kernels the worker goroutines and the cleanup see; it
// must not point back at Kernels or the cleanup would never run.
type pool struct {
	tasks chan task
	once  sync.Once
	// The call holding Kernels.mu owns the fields below.
	gen  uint32
	next atomic.Uint64 // gen<<32 | first unclaimed row (or column)
	left atomic.Int64  // rows (or columns) not yet computed
	done chan struct{} // the worker that computes the last chunk signals here
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
	// Buffered so that a worker just finishing the previous call still
	// picks the next one up; a copy nobody takes in time is discarded by
	// its generation check.
	p := &pool{tasks: make(chan task, max(1, w-1)), done: make(chan struct{}, 1)}
	k := &Kernels{impl: best, workers: w, minFlops: cfg.MinParallelFlops, pool: p}
	if k.minFlops <= 0 {
		k.minFlops = DefaultMinParallelFlops
	}
	if cfg.Generic {
		k.impl = generic
	}
	for range w - 1 {
		go worker(p.tasks)
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

// task is a product to share out. Participants repeatedly claim the next
// chunk of rows of out (or of columns, when byCols is set) until none are
// left, so a worker that starts late or runs on a busy core simply takes
// fewer chunks, and the caller never waits for a worker that has not
// started: it waits only for chunks already claimed.
type task struct {
	impl    impl
	op      op
	out     mat
	a, b    mat
	m, k, n int
	acc     bool
	byCols  bool
	size    int    // rows (or columns) to share out
	chunk   int    // rows (or columns) per claim
	gen     uint32 // which call this is; stale copies claim nothing
	p       *pool
}

func worker(tasks <-chan task) {
	for t := range tasks {
		t.drain(false)
	}
}

// drain claims and computes chunks until none are left. It reports whether
// this participant computed the last chunk; a worker that does signals the
// caller, who otherwise knows it finished last itself.
func (t task) drain(caller bool) (last bool) {
	for {
		v := t.p.next.Load()
		lo := int(uint32(v))
		if uint32(v>>32) != t.gen || lo >= t.size {
			return false
		}
		hi := min(lo+t.chunk, t.size)
		if !t.p.next.CompareAndSwap(v, v+uint64(hi-lo)) {
			continue
		}
		t.run(lo, hi)
		if t.p.left.Add(int64(lo-hi)) == 0 {
			if !caller {
				t.p.done <- struct{}{}
			}
			return true
		}
	}
}

// run computes rows (or columns) [lo, hi) of out by offsetting the views;
// the kernels never see the rest of the matrices.
func (t task) run(lo, hi int) {
	out, a, b, m, n := t.out, t.a, t.b, t.m, t.n
	if t.byCols {
		out.d = out.d[lo:]
		n = hi - lo
		switch t.op {
		case opT: // columns of out are rows of b
			b.d = b.d[lo*b.ld:]
		default: // columns of out are columns of b
			b.d = b.d[lo:]
		}
	} else {
		out.d = out.d[lo*out.ld:]
		m = hi - lo
		switch t.op {
		case opTN: // rows of out are columns of a
			a.d = a.d[lo:]
		default:
			a.d = a.d[lo*a.ld:]
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

// chunksPerWorker balances load against per-chunk overhead (each chunk
// repacks its panel of B).
const chunksPerWorker = 2

// split runs t across the workers when it is large enough, else on the
// caller's goroutine.
func (k *Kernels) split(t task) {
	w := k.workers
	flops := 2 * t.m * t.n * t.k
	if w <= 1 || flops < k.minFlops || !k.mu.TryLock() {
		t.run(0, t.m)
		return
	}
	defer k.mu.Unlock()
	if k.closed {
		t.run(0, t.m)
		return
	}
	// Prefer splitting columns in whole 16-wide panels: each panel of B
	// is then packed once in all, not once per worker. Rows go in
	// multiples of the 6-row tile (4 for matrix-vector products).
	t.size, t.byCols = t.m, false
	unit := 6
	switch {
	case t.op == opVec:
		unit = 4
	case t.n >= 2*16*w:
		t.size, t.byCols, unit = t.n, true, 16
	}
	units := (t.size + unit - 1) / unit
	t.chunk = max(1, units/(chunksPerWorker*w)) * unit
	p := k.pool
	p.gen++
	t.gen, t.p = p.gen, p
	p.left.Store(int64(t.size))
	p.next.Store(uint64(t.gen) << 32)
	// Never block handing out work: if the queue is full of calls the
	// workers have not got to, this one runs here.
	sent := 0
	for range min(w-1, (t.size+t.chunk-1)/t.chunk-1) {
		select {
		case p.tasks <- t:
			sent++
		default:
		}
	}
	if sent > 0 {
		// The last worker readied sits in this P's runnext slot, which
		// idle Ps are slow to steal from (we measured ~200µs start
		// latency). Yielding runs it here and lets an idle P take us.
		runtime.Gosched()
	}
	if !t.drain(true) {
		<-p.done // a worker is finishing the last chunk
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
