package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-research/sleuth/world"
)

func TestPickByHops(t *testing.T) {
	var mixed, onlyMulti []world.Question
	for i := range 30 {
		q := world.Question{ID: fmt.Sprint(i), Hops: 1 + i%3}
		mixed = append(mixed, q)
		if q.Hops > 1 {
			onlyMulti = append(onlyMulti, q)
		}
	}
	hops := map[string]int{}
	for _, q := range mixed {
		hops[q.ID] = q.Hops
	}
	tests := []struct {
		name   string
		qs     []world.Question
		shares []float64
		want   [3]float64 // share of each hop count in 3,000 draws, ±0.03
	}{
		{"a fifth multi-hop", mixed, []float64{0.8, 0.1, 0.1}, [3]float64{0.8, 0.1, 0.1}},
		{"weights normalised", mixed, []float64{6, 3, 1}, [3]float64{0.6, 0.3, 0.1}},
		{"no three-hop", mixed, []float64{0.5, 0.5, 0}, [3]float64{0.5, 0.5, 0}},
		{"all multi-hop", mixed, []float64{0, 1, 1}, [3]float64{0, 0.5, 0.5}},
		{"no one-hop questions", onlyMulti, []float64{0.8, 0.1, 0.1}, [3]float64{0, 0.5, 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pickByHops(tc.qs, 3000, tc.shares, rand.New(rand.NewPCG(1, 2)))
			var n [3]float64
			for _, q := range got {
				n[hops[q.ID]-1]++
			}
			for h := range n {
				if f := n[h] / float64(len(got)); math.Abs(f-tc.want[h]) > 0.03 {
					t.Errorf("%d-hop share %.3f, want %.2f", h+1, f, tc.want[h])
				}
			}
		})
	}
	// Two shares draw exactly as the single multi-hop share of earlier
	// runs did: 2-hop when the draw is under the 2-hop share.
	var two []world.Question
	for _, q := range mixed {
		if q.Hops <= 2 {
			two = append(two, q)
		}
	}
	a := pickByHops(two, 50, []float64{0.75, 0.25}, rand.New(rand.NewPCG(3, 4)))
	rng := rand.New(rand.NewPCG(3, 4))
	var one, multi []world.Question
	for _, q := range two {
		if q.Hops == 1 {
			one = append(one, q)
		} else {
			multi = append(multi, q)
		}
	}
	for i := range a {
		pool := one
		if rng.Float64() < 0.25 {
			pool = multi
		}
		if q := pool[rng.IntN(len(pool))]; q.ID != a[i].ID {
			t.Fatalf("draw %d: %s, want %s as a multi-hop share of 0.25 drew", i, a[i].ID, q.ID)
		}
	}
}
