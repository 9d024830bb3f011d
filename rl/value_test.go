package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestValueHeadFitsALinearTarget(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := []float64{0.5, -1, 2, 0}
	var rows [][]float32
	var ys []float64
	for range 200 {
		h := make([]float32, len(w))
		y := 0.3
		for j := range h {
			h[j] = float32(rng.NormFloat64())
			y += w[j] * float64(h[j])
		}
		rows, ys = append(rows, h), append(ys, y)
	}
	v := NewValueHead(len(w), 0.05)
	first, err := v.Fit(rows, ys, 1)
	if err != nil {
		t.Fatal(err)
	}
	last, err := v.Fit(rows, ys, 600)
	if err != nil {
		t.Fatal(err)
	}
	if last > 1e-3 || last > first/100 {
		t.Errorf("value loss %.5f after fitting (first %.5f)", last, first)
	}
	for j := range w {
		if math.Abs(v.W[j]-w[j]) > 0.02 {
			t.Errorf("w[%d] = %.3f, want %.3f", j, v.W[j], w[j])
		}
	}
	if _, err := v.Fit(rows[:2], ys, 1); err == nil {
		t.Error("mismatched rows and targets: no error")
	}
}

// With a value head that predicts the return exactly, GAE's advantages are
// zero; with a zero head and λ = γ = 1 they are the return itself.
func TestGAEWithValueHead(t *testing.T) {
	rewards := []float64{0, 0, 0, 1}
	adv, ret, err := GAE(rewards, []float64{1, 1, 1, 1}, 1, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	for i := range adv {
		if math.Abs(adv[i]) > 1e-12 || math.Abs(ret[i]-1) > 1e-12 {
			t.Errorf("perfect critic: adv[%d] = %g, ret = %g", i, adv[i], ret[i])
		}
	}
	adv, _, _ = GAE(rewards, make([]float64, 4), 1, 1)
	for i := range adv {
		if adv[i] != 1 {
			t.Errorf("zero critic: adv[%d] = %g, want 1", i, adv[i])
		}
	}
}

func TestHealthWarnings(t *testing.T) {
	base := StepStats{Entropy: 1, ResponseLen: 100, Searches: 1.5, KL: 0.001, ClipFraction: 0.05, NoSignal: 0.2}
	tests := []struct {
		name   string
		change func(*StepStats)
		want   string
	}{
		{"entropy collapse", func(s *StepStats) { s.Entropy = 0.1 }, "entropy_collapse"},
		{"entropy blow-up", func(s *StepStats) { s.Entropy = 2.5 }, "entropy_blowup"},
		{"length blow-up", func(s *StepStats) { s.ResponseLen = 400 }, "length_blowup"},
		{"search collapse", func(s *StepStats) { s.Searches = 0.4 }, "search_collapse"},
		{"kl spike", func(s *StepStats) { s.KL = 0.2 }, "kl_spike"},
		{"clip fraction", func(s *StepStats) { s.ClipFraction = 0.5 }, "clip_fraction"},
		{"no signal", func(s *StepStats) { s.NoSignal = 0.9 }, "no_signal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Health
			for i := range 4 {
				st := base
				st.Step = i
				if ws := h.Observe(st); len(ws) > 0 {
					t.Fatalf("healthy step %d warned: %v", i, ws)
				}
			}
			var got []Warning
			for i := 4; i < 8; i++ {
				st := base
				st.Step = i
				tc.change(&st)
				got = append(got, h.Observe(st)...)
			}
			if len(got) != 1 || got[0].Kind != tc.want || got[0].Remedy == "" || got[0].Saw == "" {
				t.Errorf("warnings %v, want one %s (fired once, with what it saw and a remedy)", got, tc.want)
			}
		})
	}
}
