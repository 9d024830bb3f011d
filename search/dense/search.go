package dense

import (
	"container/heap"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// SearchOptions tune one search. The zero value is the approximate search
// with its defaults.
type SearchOptions struct {
	// Exact scores every float32 vector instead of the codes: slow, for
	// checking the approximate search.
	Exact bool
	// Rescore is how many candidates of the code scan are rescored with
	// their float32 vectors. Default max(100·k, 1000).
	Rescore int
	// QueryBits is how finely the query is quantised for the code scan,
	// 1 to 8. Default 4.
	QueryBits int
	// Probe is how many inverted lists (those whose centroids score best)
	// are scanned. Default max(8, lists/8); all lists when it exceeds them.
	Probe int
}

// Scored is one result: a row of the index and its inner product with the
// query.
type Scored struct {
	Doc   int
	Score float32
}

// Search returns the k rows with the largest inner product with q, best
// first (ties by lower row). q must have the index's dimension; when the
// index is normalised q is normalised first (on a copy).
func (ix *Index) Search(q []float32, k int, opt SearchOptions) ([]Scored, error) {
	if len(q) != ix.dim {
		return nil, fmt.Errorf("dense search: query of dimension %d, index has %d", len(q), ix.dim)
	}
	if k <= 0 || ix.n == 0 {
		return nil, nil
	}
	if ix.normalized {
		q = append([]float32(nil), q...)
		Normalize(q)
	}
	if opt.Exact {
		return ix.exact(q, k), nil
	}
	r := opt.Rescore
	if r <= 0 {
		r = max(100*k, 1000)
	}
	r = max(r, k)
	if r >= ix.n {
		return ix.exact(q, k), nil
	}
	b := opt.QueryBits
	if b <= 0 {
		b = 4
	}
	if b > 8 {
		return nil, fmt.Errorf("dense search: QueryBits %d, at most 8", b)
	}
	probe := opt.Probe
	if probe <= 0 {
		probe = max(8, ix.nlist/8)
	}
	cands := ix.scan(q, r, b, probe)
	top := newTopK(k)
	for _, c := range cands {
		top.offer(int32(c.id), kernels.Dot(q, ix.Vector(int(c.id))))
	}
	return top.sorted(), nil
}

// exact scores every vector.
func (ix *Index) exact(q []float32, k int) []Scored {
	top := newTopK(k)
	for i := range ix.n {
		top.offer(int32(i), kernels.Dot(q, ix.vectors[i*ix.dim:(i+1)*ix.dim]))
	}
	return top.sorted()
}

// scan estimates q·x for every vector of the probe best-scoring lists
// (see ivf.go) and returns the r best rows. The query is quantised to b
// bits per dimension, q ≈ lo + step·u with u in [0, 2^b), held as b bit
// planes; for a code c, Σ_j q_j·c_j ≈ lo·popcount(c) + step·Σ_p 2^p·
// popcount(plane_p & c), and q·sign(r) = 2·Σ_j q_j·c_j − Σ_j q_j.
func (ix *Index) scan(q []float32, r, b, probe int) []cand {
	lo, hi := q[0], q[0]
	var sumQ float32
	for _, v := range q {
		lo, hi = min(lo, v), max(hi, v)
		sumQ += v
	}
	levels := float32(int(1)<<b - 1)
	step := (hi - lo) / levels
	if step == 0 {
		step = 1
	}
	w := ix.w
	planes := make([]uint64, b*w)
	var sumQuant float32 // Σ of the quantised q, so the estimate is self-consistent
	for j, v := range q {
		u := uint(math.Round(float64((v - lo) / step)))
		sumQuant += lo + step*float32(u)
		for p := range b {
			if u>>p&1 == 1 {
				planes[p*w+j>>6] |= 1 << (uint(j) & 63)
			}
		}
	}
	_ = sumQ
	lists := ix.probeLists(q, probe)
	h := candHeap{c: make([]cand, 0, r)}
	for _, l := range lists {
		for s := ix.listOff[l.id]; s < ix.listOff[l.id+1]; s++ {
			c := ix.codes[int(s)*w : int(s+1)*w : int(s+1)*w]
			var pop, acc int
			if b == 4 {
				p0, p1, p2, p3 := planes[:w:w], planes[w:2*w:2*w], planes[2*w:3*w:3*w], planes[3*w:4*w:4*w]
				var a0, a1, a2, a3 int
				for t, x := range c {
					pop += bits.OnesCount64(x)
					a0 += bits.OnesCount64(x & p0[t])
					a1 += bits.OnesCount64(x & p1[t])
					a2 += bits.OnesCount64(x & p2[t])
					a3 += bits.OnesCount64(x & p3[t])
				}
				acc = a0 + 2*a1 + 4*a2 + 8*a3
			} else {
				for _, x := range c {
					pop += bits.OnesCount64(x)
				}
				for p := range b {
					pl := planes[p*w : (p+1)*w : (p+1)*w]
					a := 0
					for t, x := range c {
						a += bits.OnesCount64(x & pl[t])
					}
					acc += a << p
				}
			}
			est := l.s + ix.scales[s]*(2*(lo*float32(pop)+step*float32(acc))-sumQuant)
			if len(h.c) < r {
				heap.Push(&h, cand{id: int32(ix.rows[s]), s: est})
			} else if est > h.c[0].s {
				h.c[0] = cand{id: int32(ix.rows[s]), s: est}
				heap.Fix(&h, 0)
			}
		}
	}
	return h.c
}

// probeLists returns the probe lists whose centroids have the largest
// inner product with q, with those products.
func (ix *Index) probeLists(q []float32, probe int) []cand {
	probe = min(probe, ix.nlist)
	qc := make([]float32, ix.nlist)
	kernels.MatVecT(qc, ix.centroids, q, ix.nlist, ix.dim)
	h := candHeap{c: make([]cand, 0, probe)}
	for l, s := range qc {
		if len(h.c) < probe {
			heap.Push(&h, cand{id: int32(l), s: s})
		} else if s > h.c[0].s {
			h.c[0] = cand{id: int32(l), s: s}
			heap.Fix(&h, 0)
		}
	}
	return h.c
}

type cand struct {
	id int32
	s  float32
}

// candHeap is a min-heap on s: the root is the weakest kept candidate.
type candHeap struct{ c []cand }

func (h *candHeap) Len() int           { return len(h.c) }
func (h *candHeap) Less(i, j int) bool { return h.c[i].s < h.c[j].s }
func (h *candHeap) Swap(i, j int)      { h.c[i], h.c[j] = h.c[j], h.c[i] }
func (h *candHeap) Push(x any)         { h.c = append(h.c, x.(cand)) }
func (h *candHeap) Pop() any {
	x := h.c[len(h.c)-1]
	h.c = h.c[:len(h.c)-1]
	return x
}

// topK keeps the k best (score desc, row asc).
type topK struct {
	k int
	h []Scored // min-heap by (score, -doc)
}

func newTopK(k int) *topK { return &topK{k: k, h: make([]Scored, 0, k)} }

func worse(a, b Scored) bool { return a.Score < b.Score || (a.Score == b.Score && a.Doc > b.Doc) }

func (t *topK) offer(doc int32, s float32) {
	x := Scored{Doc: int(doc), Score: s}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		for i := len(t.h) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(t.h[i], t.h[p]) {
				break
			}
			t.h[i], t.h[p] = t.h[p], t.h[i]
			i = p
		}
		return
	}
	if !worse(t.h[0], x) {
		return
	}
	t.h[0] = x
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(t.h) && worse(t.h[l], t.h[m]) {
			m = l
		}
		if l+1 < len(t.h) && worse(t.h[l+1], t.h[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

func (t *topK) sorted() []Scored {
	out := append([]Scored(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return worse(out[j], out[i]) })
	return out
}
