package dense

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// The codes are grouped into inverted lists, one per k-means centroid: a
// vector x in list c is stored as c plus its residual r = x − c, and the
// residual as its sign bits, its length ‖r‖ and the factor
// f = Σ|r_j| / (√d·‖r‖), the cosine between r and its sign vector. Then
//
//	q·x = q·c + q·r ≈ q·c + ‖r‖/f · (q·sign(r))/√d,
//
// RaBitQ's estimator without its random rotation. Codes relative to a local
// centroid keep the within-topic differences that a global sign code loses
// (every vector of a topic shares its centroid's signs), and a query scans
// only the lists whose centroids score best.

// listCount picks about √n lists, at most 4096, and one list for small
// indexes, where a scan of everything is cheap anyway.
func listCount(n int) int {
	if n < 2048 {
		return 1
	}
	return min(4096, int(math.Sqrt(float64(n))))
}

// kmeans trains nlist centroids (spherical when the data are unit length:
// it maximises inner product) on a sample of rows of vecs (n × dim) and
// returns them (nlist × dim).
func kmeans(ctx context.Context, vecs []float32, n, dim, nlist int, seed uint64) ([]float32, error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	sampleN := min(n, 48*nlist)
	perm := r.Perm(n)[:sampleN]
	sample := make([]float32, sampleN*dim)
	for i, row := range perm {
		copy(sample[i*dim:(i+1)*dim], vecs[row*dim:(row+1)*dim])
	}
	cent := make([]float32, nlist*dim)
	for c := range nlist { // distinct sample rows as the start
		copy(cent[c*dim:(c+1)*dim], sample[c*dim:(c+1)*dim])
	}
	assign := make([]int32, sampleN)
	sums := make([]float64, nlist*dim)
	counts := make([]int, nlist)
	for iter := range 10 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		nearest(assign, sample, sampleN, dim, cent, nlist)
		clear(sums)
		clear(counts)
		for i, c := range assign {
			counts[c]++
			row := sample[i*dim : (i+1)*dim]
			s := sums[int(c)*dim : (int(c)+1)*dim]
			for j, v := range row {
				s[j] += float64(v)
			}
		}
		for c := range nlist {
			if counts[c] == 0 { // reseed an empty list with a random sample row
				row := r.IntN(sampleN)
				copy(cent[c*dim:(c+1)*dim], sample[row*dim:(row+1)*dim])
				continue
			}
			for j := range dim {
				cent[c*dim+j] = float32(sums[c*dim+j] / float64(counts[c]))
			}
		}
		_ = iter
	}
	return cent, nil
}

// nearest sets assign[i] to the centroid nearest row i of x (m × dim) in
// Euclidean distance: argmax of x·c − ‖c‖²/2, computed in blocks with the
// engine's matmul.
func nearest(assign []int32, x []float32, m, dim int, cent []float32, nlist int) {
	half := make([]float32, nlist)
	for c := range nlist {
		half[c] = kernels.Dot(cent[c*dim:(c+1)*dim], cent[c*dim:(c+1)*dim]) / 2
	}
	const block = 256
	scores := make([]float32, block*nlist)
	for start := 0; start < m; start += block {
		bm := min(block, m-start)
		kernels.MatMulT(scores[:bm*nlist], x[start*dim:(start+bm)*dim], cent, bm, dim, nlist, false)
		for i := range bm {
			row := scores[i*nlist : (i+1)*nlist]
			best, bs := 0, float32(math.Inf(-1))
			for c, s := range row {
				if s -= half[c]; s > bs {
					best, bs = c, s
				}
			}
			assign[start+i] = int32(best)
		}
	}
}

// residualCode writes the sign code of r = x − c into code and returns ‖r‖
// and f = Σ|r_j| / (√d·‖r‖) (1 when r is zero).
func residualCode(code []uint64, x, c []float32) (norm, f float32) {
	clear(code)
	var ss, sa float64
	for j, v := range x {
		d := float64(v - c[j])
		ss += d * d
		sa += math.Abs(d)
		if d > 0 {
			code[j>>6] |= 1 << (uint(j) & 63)
		}
	}
	if ss == 0 {
		return 0, 1
	}
	n := math.Sqrt(ss)
	return float32(n), float32(sa / (math.Sqrt(float64(len(x))) * n))
}
