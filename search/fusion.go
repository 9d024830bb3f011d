package search

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
)

// Fusion is how Hybrid combines two ranked lists.
type Fusion int

const (
	// RRF is reciprocal-rank fusion: a passage scores Σ 1/(K + rank), rank
	// counted from 1 in each list it appears in (Cormack et al., 2009). It
	// needs no score calibration between the retrievers.
	RRF Fusion = iota + 1
	// Weighted is weighted score fusion: each list's scores are min–max
	// scaled to [0, 1] (a list of one hit scales to 1), and a passage scores
	// WeightA·a + WeightB·b, 0 for a list it is missing from.
	Weighted
)

// ParseFusion reads "rrf" or "weighted".
func ParseFusion(s string) (Fusion, error) {
	switch s {
	case "rrf":
		return RRF, nil
	case "weighted":
		return Weighted, nil
	}
	return 0, fmt.Errorf("fusion %q: want rrf or weighted", s)
}

func (f Fusion) String() string {
	switch f {
	case RRF:
		return "rrf"
	case Weighted:
		return "weighted"
	}
	return fmt.Sprintf("Fusion(%d)", int(f))
}

// HybridConfig configures a Hybrid. Zero values take the documented
// defaults.
type HybridConfig struct {
	// Fusion defaults to RRF.
	Fusion Fusion
	// K is RRF's rank constant. Default 60.
	K float64
	// WeightA and WeightB weigh the scaled scores of A and B for Weighted.
	// Both zero means 0.5 each; negative weights are an error.
	WeightA, WeightB float64
	// Depth is how many hits each retriever is asked for before fusing.
	// Default max(2·k, 20) for a request of k.
	Depth int
}

// Hybrid fuses the results of two retrievers (BM25 and dense, or any two).
// Passages are the same passage when their IDs are equal; a fused hit
// carries A's copy of the passage when both have it. It is safe for
// concurrent use when A and B are.
type Hybrid struct {
	A, B Retriever
	cfg  HybridConfig
}

var _ Retriever = (*Hybrid)(nil)

// NewHybrid returns a Hybrid of a and b.
func NewHybrid(a, b Retriever, cfg HybridConfig) (*Hybrid, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("hybrid retriever needs two retrievers")
	}
	if cfg.Fusion == 0 {
		cfg.Fusion = RRF
	}
	if cfg.Fusion != RRF && cfg.Fusion != Weighted {
		return nil, fmt.Errorf("hybrid retriever: unknown %v", cfg.Fusion)
	}
	if cfg.K <= 0 {
		cfg.K = 60
	}
	if cfg.WeightA < 0 || cfg.WeightB < 0 || math.IsNaN(cfg.WeightA) || math.IsNaN(cfg.WeightB) {
		return nil, fmt.Errorf("hybrid retriever: weights %v, %v must not be negative", cfg.WeightA, cfg.WeightB)
	}
	if cfg.WeightA == 0 && cfg.WeightB == 0 {
		cfg.WeightA, cfg.WeightB = 0.5, 0.5
	}
	return &Hybrid{A: a, B: b, cfg: cfg}, nil
}

// Search asks A and B concurrently for Depth hits per query and fuses them.
// Scores of the result are the fused scores.
func (h *Hybrid) Search(ctx context.Context, queries []string, k int) ([][]Hit, error) {
	depth := h.cfg.Depth
	if depth <= 0 {
		depth = max(2*k, 20)
	}
	depth = max(depth, k)
	var (
		wg         sync.WaitGroup
		ra, rb     [][]Hit
		errA, errB error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rb, errB = h.B.Search(ctx, queries, depth)
	}()
	ra, errA = h.A.Search(ctx, queries, depth)
	wg.Wait()
	if errA != nil {
		return nil, fmt.Errorf("hybrid: first retriever: %w", errA)
	}
	if errB != nil {
		return nil, fmt.Errorf("hybrid: second retriever: %w", errB)
	}
	if len(ra) != len(queries) || len(rb) != len(queries) {
		return nil, fmt.Errorf("hybrid: retrievers answered %d and %d lists for %d queries", len(ra), len(rb), len(queries))
	}
	out := make([][]Hit, len(queries))
	for i := range queries {
		out[i] = h.fuse(ra[i], rb[i], k)
	}
	return out, nil
}

// fuse merges two ranked lists into the k best by fused score; ties go to
// the passage that appeared first, A's list before B's.
func (h *Hybrid) fuse(a, b []Hit, k int) []Hit {
	type entry struct {
		hit   Hit
		score float64
		order int
	}
	byID := map[string]*entry{}
	var all []*entry
	add := func(list []Hit, weight float64) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range list {
			lo, hi = min(lo, x.Score), max(hi, x.Score)
		}
		for rank, x := range list {
			var s float64
			switch h.cfg.Fusion {
			case RRF:
				s = 1 / (h.cfg.K + float64(rank+1))
			case Weighted:
				s = 1
				if hi > lo {
					s = (x.Score - lo) / (hi - lo)
				}
				s *= weight
			}
			e := byID[x.Passage.ID]
			if e == nil {
				e = &entry{hit: x, order: len(all)}
				byID[x.Passage.ID] = e
				all = append(all, e)
			}
			e.score += s
		}
	}
	add(a, h.cfg.WeightA)
	add(b, h.cfg.WeightB)
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	out := make([]Hit, 0, min(k, len(all)))
	for _, e := range all[:min(k, len(all))] {
		hit := e.hit
		hit.Score, hit.Rank = e.score, len(out)
		out = append(out, hit)
	}
	return out
}
