package search

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
)

// fixed answers every query with the same list of (id, score).
type fixed struct {
	ids    []string
	scores []float64
	err    error
	asked  *int
}

func (f fixed) Search(_ context.Context, queries []string, k int) ([][]Hit, error) {
	if f.asked != nil {
		*f.asked = k
	}
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]Hit, len(queries))
	for i := range queries {
		for r, id := range f.ids[:min(k, len(f.ids))] {
			out[i] = append(out[i], Hit{Passage: corpus.Passage{ID: id, Text: "from " + id}, Score: f.scores[r], Rank: r})
		}
	}
	return out, nil
}

type scored struct {
	ID    string
	Score float64
}

func flat(hits []Hit) []scored {
	var out []scored
	for i, h := range hits {
		if h.Rank != i {
			panic("rank not renumbered")
		}
		out = append(out, scored{h.Passage.ID, math.Round(h.Score*1e6) / 1e6})
	}
	return out
}

func TestHybridHandComputed(t *testing.T) {
	t.Parallel()
	a := fixed{ids: []string{"x", "y", "z"}, scores: []float64{9, 5, 1}}
	b := fixed{ids: []string{"z", "w", "x"}, scores: []float64{0.9, 0.8, 0.5}}
	r := func(n float64) float64 { return math.Round(n*1e6) / 1e6 }
	for _, tc := range []struct {
		name string
		cfg  HybridConfig
		k    int
		want []scored
	}{
		// RRF, K=60: x 1/61+1/63, z 1/63+1/61, y 1/62, w 1/62; ties keep
		// first appearance (x before z; y before w).
		{"rrf", HybridConfig{}, 4, []scored{{"x", r(1.0/61 + 1.0/63)}, {"z", r(1.0/63 + 1.0/61)}, {"y", r(1.0 / 62)}, {"w", r(1.0 / 62)}}},
		{"rrf k=1 top 2", HybridConfig{Fusion: RRF, K: 1}, 2, []scored{{"x", r(0.5 + 0.25)}, {"z", r(0.25 + 0.5)}}},
		// Weighted 0.5/0.5: A scaled x 1, y 0.5, z 0; B scaled z 1, w 0.75, x 0.
		// x 0.5, y 0.25, z 0.5, w 0.375.
		{"weighted", HybridConfig{Fusion: Weighted}, 4, []scored{{"x", 0.5}, {"z", 0.5}, {"w", 0.375}, {"y", 0.25}}},
		// 0.2/0.8: x 0.2, y 0.1, z 0.8, w 0.6.
		{"weighted 0.2/0.8", HybridConfig{Fusion: Weighted, WeightA: 0.2, WeightB: 0.8}, 3, []scored{{"z", 0.8}, {"w", 0.6}, {"x", 0.2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHybrid(a, b, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Search(context.Background(), []string{"q1", "q2"}, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			for qi := range got {
				if diff := cmp.Diff(tc.want, flat(got[qi])); diff != "" {
					t.Errorf("query %d (-want +got):\n%s", qi, diff)
				}
			}
		})
	}
}

func TestHybridDepthAndErrors(t *testing.T) {
	t.Parallel()
	var asked int
	a := fixed{ids: []string{"x"}, scores: []float64{1}, asked: &asked}
	h, _ := NewHybrid(a, a, HybridConfig{})
	h.Search(context.Background(), []string{"q"}, 3)
	if asked != 20 {
		t.Errorf("asked each retriever for %d, want the default depth 20", asked)
	}
	h, _ = NewHybrid(a, fixed{err: errors.New("down")}, HybridConfig{})
	if _, err := h.Search(context.Background(), []string{"q"}, 3); err == nil {
		t.Error("an error of the second retriever was lost")
	}
	if _, err := NewHybrid(a, a, HybridConfig{WeightA: -1}); err == nil {
		t.Error("negative weight accepted")
	}
	if _, err := NewHybrid(a, nil, HybridConfig{}); err == nil {
		t.Error("nil retriever accepted")
	}
	for _, s := range []string{"rrf", "weighted"} {
		f, err := ParseFusion(s)
		if err != nil || f.String() != s {
			t.Errorf("ParseFusion(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseFusion("max"); err == nil {
		t.Error(`ParseFusion("max") succeeded`)
	}
}
