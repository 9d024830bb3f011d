package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func nearAll(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestAdvantages(t *testing.T) {
	for _, tc := range []struct {
		e       Estimator
		rewards []float64
		groups  [][]int
		want    []float64
	}{
		// mean 0.5, population std 0.5
		{GRPO, []float64{1, 0, 0, 1}, [][]int{{0, 1, 2, 3}}, []float64{1, -1, -1, 1}},
		{DrGRPO, []float64{1, 0, 0, 1}, [][]int{{0, 1, 2, 3}}, []float64{0.5, -0.5, -0.5, 0.5}},
		// all equal: no signal
		{GRPO, []float64{1, 1}, [][]int{{0, 1}}, []float64{0, 0}},
		// two groups stay apart
		{DrGRPO, []float64{1, 0, 3, 5}, [][]int{{0, 1}, {2, 3}}, []float64{0.5, -0.5, -1, 1}},
		// leave-one-out baselines: 0, (1+0)/2, (1+0)/2
		{RLOO, []float64{1, 0, 0}, [][]int{{0, 1, 2}}, []float64{1, -0.5, -0.5}},
		// batch mean 2, std sqrt(2/3)
		{Reinforce, []float64{1, 2, 3}, [][]int{{0}, {1}, {2}}, []float64{-1 / math.Sqrt(2.0/3), 0, 1 / math.Sqrt(2.0/3)}},
	} {
		got, err := Advantages(tc.e, tc.rewards, tc.groups)
		if err != nil || !nearAll(got, tc.want) {
			t.Errorf("%s %v: got %v, %v; want %v", tc.e, tc.rewards, got, err, tc.want)
		}
	}
	if _, err := Advantages(GRPO, []float64{1, 2}, [][]int{{0}}); err == nil {
		t.Error("a reward outside every group was accepted")
	}
}

func TestTurnAdvantages(t *testing.T) {
	// Two episodes of one question, both found the first hop's passage at
	// turn 0 (progress 0.5); episode 0 answered at turn 1, episode 1
	// searched again and found the second (0.5 more) at turn 1, then
	// answered wrongly at turn 2. Totals 0.5 and 1.
	perTurn := [][]float64{{0.5, 0}, {0.5, 0.5, 0}}
	totals := []float64{0.5, 1}
	for _, tc := range []struct {
		e    Estimator
		want [][]float64
	}{
		// turn 0: totals 0.5, 1 → ∓0.25; turn 1: returns 0, 0.5 → ∓0.25;
		// turn 2: episode 0 keeps its last credit 0, episode 1 has 0 → 0.
		{DrGRPO, [][]float64{{-0.25, -0.25}, {0.25, 0.25, 0}}},
		{GRPO, [][]float64{{-1, -1}, {1, 1, 0}}},
		{RLOO, [][]float64{{-0.5, -0.5}, {0.5, 0.5, 0}}},
	} {
		got, err := TurnAdvantages(tc.e, totals, perTurn, [][]int{{0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !nearAll(got[i], tc.want[i]) {
				t.Errorf("%s: episode %d: got %v, want %v", tc.e, i, got[i], tc.want[i])
			}
		}
	}
	// Without turn rewards every turn gets the episode's advantage.
	totals = []float64{1, 0, 0.3, 2}
	plain, _ := Advantages(GRPO, totals, [][]int{{0, 1}, {2, 3}})
	got, err := TurnAdvantages(GRPO, totals, [][]float64{{0, 0, 0}, {0}, nil, {0, 0}}, [][]int{{0, 1}, {2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range got {
		for k, v := range row {
			if math.Abs(v-plain[i]) > 1e-9 {
				t.Errorf("episode %d turn %d: %v, want the plain advantage %v", i, k, v, plain[i])
			}
		}
	}
	if _, err := TurnAdvantages(GRPO, totals, nil, [][]int{{0, 1}, {2, 3}}); err == nil {
		t.Error("turn rewards of the wrong length were accepted")
	}
}

func TestTurnRewardsForPPO(t *testing.T) {
	// Tokens 0–1 are the prompt (turn −1 for env is never a policy
	// position); policy tokens at 2, 3 (turn 0) and 6 (turn 1).
	s := trainSeq{reward: 1.5, turns: []int{0, 0, 0, 0, 0, 1, 1}, perTurn: []float64{0.5, 0.25}}
	got := turnRewards(s, []int{2, 3, 6})
	if !nearAll(got, []float64{0, 0.5, 1}) {
		t.Errorf("got %v, want the turn-0 credit on its last token and the rest at the end", got)
	}
	s.perTurn = nil
	if got := turnRewards(s, []int{2, 3, 6}); !nearAll(got, []float64{0, 0, 1.5}) {
		t.Errorf("without turn rewards: got %v", got)
	}
}

func TestGAE(t *testing.T) {
	adv, ret, err := GAE([]float64{0, 0, 1}, []float64{0.5, 0.5, 0.5}, 1, 1)
	if err != nil || !nearAll(adv, []float64{0.5, 0.5, 0.5}) || !nearAll(ret, []float64{1, 1, 1}) {
		t.Errorf("λ=1: adv %v ret %v %v", adv, ret, err)
	}
	// δ = (0, 0, 0.5); A2 = .5, A1 = .5·.5, A0 = .5·.25
	adv, _, _ = GAE([]float64{0, 0, 1}, []float64{0.5, 0.5, 0.5}, 1, 0.5)
	if !nearAll(adv, []float64{0.125, 0.25, 0.5}) {
		t.Errorf("λ=.5: adv %v", adv)
	}
}

func TestWeights(t *testing.T) {
	ln15, ln05 := math.Log(1.5), math.Log(0.5)
	for _, tc := range []struct {
		name string
		seqs []Seq
		cfg  LossConfig
		want [][]float32
		loss float64
		clip float64
	}{
		{"unclipped token mean", []Seq{{Mask: []float32{0, 1, 1}, Logp: []float64{0, -1, -2}, OldLogp: []float64{0, -1, -2}, Advantage: []float64{9, 2, -1}}},
			LossConfig{ClipLow: 0.2, ClipHigh: 0.2}, [][]float32{{0, 1, -0.5}}, -0.5, 0},
		// ratio 1.5 with A=2 is clipped (weight 0); ratio 1.5 with A=-1 is not
		// (weight -1·1.5/3); ratio 0.5 with A=-1 is clipped.
		{"clipping", []Seq{{Mask: []float32{1, 1, 1}, Logp: []float64{ln15, ln15, ln05}, OldLogp: []float64{0, 0, 0}, Advantage: []float64{2, -1, -1}}},
			LossConfig{ClipLow: 0.2, ClipHigh: 0.2}, [][]float32{{0, -0.5, 0}}, -(2.4 - 1.5 - 0.8) / 3, 2.0 / 3},
		// sequence lengths 2 and 1: coefficients 1/4 and 1/2
		{"seq mean", []Seq{{Mask: []float32{1, 1}, Logp: []float64{0, 0}, OldLogp: []float64{0, 0}, Advantage: []float64{1, 1}},
			{Mask: []float32{1}, Logp: []float64{0}, OldLogp: []float64{0}, Advantage: []float64{1}}},
			LossConfig{ClipLow: 0.2, ClipHigh: 0.2, Aggregation: SeqMean}, [][]float32{{0.25, 0.25}, {0.5}}, -1, 0},
		// Dr. GRPO: divide by the longest length (2) and the sequence count (2)
		{"seq sum", []Seq{{Mask: []float32{1, 1}, Logp: []float64{0, 0}, OldLogp: []float64{0, 0}, Advantage: []float64{1, 1}},
			{Mask: []float32{1, 0}, Logp: []float64{0, 0}, OldLogp: []float64{0, 0}, Advantage: []float64{1, 1}}},
			LossConfig{ClipLow: 0.2, ClipHigh: 0.2, Aggregation: SeqSum}, [][]float32{{0.25, 0.25}, {0.25, 0}}, -0.75, 0},
		// k3 with π_ref/π = 0.5: kl = .5 + ln2 − 1, d kl/d log π = .5
		{"k3", []Seq{{Mask: []float32{1}, Logp: []float64{-1}, OldLogp: []float64{-1}, RefLogp: []float64{-1 + ln05}, Advantage: []float64{0}}},
			LossConfig{ClipLow: 0.2, ClipHigh: 0.2, KL: KLk3, KLCoef: 0.1}, [][]float32{{-0.05}}, 0.1 * (0.5 + math.Ln2 - 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, st, err := Weights(tc.seqs, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				for j := range tc.want[i] {
					if !near(float64(w[i][j]), float64(tc.want[i][j])) {
						t.Errorf("w[%d][%d] = %g, want %g", i, j, w[i][j], tc.want[i][j])
					}
				}
			}
			if !near(st.Loss, tc.loss) || !near(st.ClipFraction, tc.clip) {
				t.Errorf("loss %g clip %g; want %g %g", st.Loss, st.ClipFraction, tc.loss, tc.clip)
			}
		})
	}
}

// TestWeightsFiniteDifference checks the weights are the gradient of the
// aggregated loss with respect to each token's log-probability.
func TestWeightsFiniteDifference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(6)
		s := Seq{Mask: make([]float32, n), Logp: make([]float64, n), OldLogp: make([]float64, n), RefLogp: make([]float64, n), Advantage: make([]float64, n)}
		for i := range n {
			s.Mask[i] = float32(r.IntN(2))
			s.OldLogp[i] = -r.Float64() * 3
			s.Logp[i] = s.OldLogp[i] + (r.Float64()-0.5)*0.6
			s.RefLogp[i] = s.OldLogp[i] + (r.Float64()-0.5)*0.6
			s.Advantage[i] = r.NormFloat64()
		}
		cfg := LossConfig{ClipLow: 0.2, ClipHigh: 0.28, KL: KLk3, KLCoef: 0.05}
		w, st, err := Weights([]Seq{s}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			const h = 1e-6
			s2 := s
			s2.Logp = append([]float64{}, s.Logp...)
			s2.Logp[i] += h
			_, st2, _ := Weights([]Seq{s2}, cfg)
			// The trainer minimises Σ w·(−log p): d/dlogp = −w.
			num := (st2.Loss - st.Loss) / h
			if math.Abs(num-(-float64(w[0][i]))) > 1e-3 {
				t.Fatalf("trial %d token %d: numeric %g, weights give %g (seq %+v)", trial, i, num, -w[0][i], s)
			}
		}
	}
}

// TestEnvironmentTokensCarryNoWeight: whatever the numbers, a token with
// mask 0 never gets a weight.
func TestEnvironmentTokensCarryNoWeight(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		var seqs []Seq
		for range 1 + r.IntN(4) {
			n := r.IntN(20)
			s := Seq{Mask: make([]float32, n), Logp: make([]float64, n), OldLogp: make([]float64, n), RefLogp: make([]float64, n), Advantage: make([]float64, n)}
			for i := range n {
				s.Mask[i] = float32(r.IntN(2))
				s.Logp[i], s.OldLogp[i], s.RefLogp[i] = -5*r.Float64(), -5*r.Float64(), -5*r.Float64()
				s.Advantage[i] = 10 * r.NormFloat64()
			}
			seqs = append(seqs, s)
		}
		agg := []Aggregation{TokenMean, SeqMean, SeqSum}[r.IntN(3)]
		w, _, err := Weights(seqs, LossConfig{ClipLow: 0.2, ClipHigh: 0.2, KL: KLk3, KLCoef: 0.1, Aggregation: agg})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range seqs {
			for j, m := range s.Mask {
				if m == 0 && w[i][j] != 0 {
					t.Fatalf("environment token %d of sequence %d got weight %g", j, i, w[i][j])
				}
			}
		}
	}
}
