package reward

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// f1 is the script's formula, in its order of operations.
func f1(p, r float64) float64 { return (2 * p * r) / (p + r) }

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The Beatles", "beatles"},
		{"  An   Apple a day ", "apple day"},
		{"U.S.A.", "usa"},
		{"theatre an athens", "theatre athens"},
		{"a", ""},
		{"İSTANBUL", "i\u0307stanbul"},
		{"ΟΔΟΣ", "οδος"},
		{"ΣΑΣ ΣΑΣ.", "σας σας"},
		{"Σ", "σ"},
		{"New\u00a0York\u001cCity", "new york city"},
		{"x\u0301a b", "x\u0301 b"},
		{"“quoted”", "“quoted”"},
		{"snake_case", "snakecase"},
		{"l'a", "la"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokenF1(t *testing.T) {
	tests := []struct {
		name, pred, gold string
		want             PRF
	}{
		{"exact", "The Beatles", "beatles", PRF{1, 1, 1}},
		{"partial", "chief of protocol of united states", "Chief of Protocol", PRF{0.5, 1, f1(0.5, 1)}},
		{"dup", "paris paris", "paris", PRF{0.5, 1, f1(0.5, 1)}},
		{"yes vs no", "yes", "no", PRF{}},
		{"yes long", "yes definitely", "yes", PRF{}},
		{"noanswer", "noanswer", "paris", PRF{}},
		{"both empty", "", "", PRF{}},
		{"pred empty", "", "paris", PRF{}},
		{"yes yes", "Yes.", "yes", PRF{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, TokenF1(tt.pred, tt.gold)); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestScoreAnswer(t *testing.T) {
	tests := []struct {
		name  string
		pred  string
		golds []string
		want  AnswerScore
	}{
		{"best gold", "december 1972", []string{"14 December 1972 UTC", "December 1972"}, AnswerScore{EM: 1, F1: 1, Prec: 1, Recall: 1, CoverEM: 1}},
		// vs "Bobby Scott": 2 of 5 tokens → p .4 r 1; vs "Bob Russell": p .4 r 1 too; first best kept.
		{"two names", "Bob Russell and Bobby Scott", []string{"Bobby Scott", "Bob Russell"},
			AnswerScore{F1: f1(0.4, 1), Prec: 0.4, Recall: 1, CoverEM: 1}},
		{"cover", "It is Paris, France", []string{"paris"}, AnswerScore{F1: f1(0.25, 1), Prec: 0.25, Recall: 1, CoverEM: 1}},
		{"empty gold never covers", "x", []string{"the"}, AnswerScore{}},
		{"empty both", "", []string{""}, AnswerScore{EM: 1}},
		{"no golds", "x", nil, AnswerScore{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, ScoreAnswer(tt.pred, tt.golds)); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestSetPRF(t *testing.T) {
	tests := []struct {
		name       string
		pred, gold []string
		want       PRF
		exact      float64
	}{
		{"exact", []string{"a", "b"}, []string{"b", "a"}, PRF{1, 1, 1}, 1},
		{"half", []string{"a", "c", "a"}, []string{"a", "b"}, PRF{0.5, 0.5, 0.5}, 0},
		{"one of three", []string{"a"}, []string{"a", "b", "c"}, PRF{1, 1.0 / 3, f1(1, 1.0/3)}, 0},
		{"none", nil, []string{"a"}, PRF{}, 0},
		{"both empty", nil, nil, PRF{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, exact := SetPRF(tt.pred, tt.gold)
			if d := cmp.Diff(tt.want, got); d != "" || exact != tt.exact {
				t.Errorf("%s exact %v want %v", d, exact, tt.exact)
			}
		})
	}
}

func TestRankMetrics(t *testing.T) {
	l2 := math.Log2
	tests := []struct {
		name         string
		ranked, gold []string
		k            int
		recall, ndcg float64
	}{
		{"top", []string{"g1", "g2", "x"}, []string{"g1", "g2"}, 3, 1, 1},
		// relevant at ranks 2 and 4 (i=1,3): DCG 1/log2(3)+1/log2(5); IDCG 1+1/log2(3).
		{"lower", []string{"x", "g1", "y", "g2"}, []string{"g1", "g2"}, 5, 1, (1/l2(3) + 1/l2(5)) / (1 + 1/l2(3))},
		{"cut", []string{"x", "g1", "y", "g2"}, []string{"g1", "g2"}, 2, 0.5, (1 / l2(3)) / (1 + 1/l2(3))},
		{"k below gold", []string{"g2"}, []string{"g1", "g2", "g3"}, 1, 1.0 / 3, 1},
		{"repeat counts once", []string{"g1", "g1"}, []string{"g1", "g2"}, 2, 0.5, 1 / (1 + 1/l2(3))},
		{"no gold", []string{"a"}, nil, 3, 0, 0},
		{"all k", []string{"x", "g1"}, []string{"g1"}, 0, 1, 1 / l2(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, n := RecallAtK(tt.ranked, tt.gold, tt.k), NDCGAtK(tt.ranked, tt.gold, tt.k)
			if math.Abs(r-tt.recall) > 1e-12 || math.Abs(n-tt.ndcg) > 1e-12 {
				t.Errorf("recall %v ndcg %v, want %v %v", r, n, tt.recall, tt.ndcg)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"The Beatles", "İSTANBUL", "ΟΔΟΣ", "x\u0301a", "a an the", "\x1c\u00a0", "\xff\xfe"} {
		f.Add(s, "beatles")
	}
	f.Fuzz(func(t *testing.T, pred, gold string) {
		n := Normalize(pred)
		if Normalize(n) != n && !hasSpecialLower(pred) {
			t.Errorf("Normalize not idempotent on %q: %q then %q", pred, n, Normalize(n))
		}
		s := TokenF1(pred, gold)
		if s.F1 < 0 || s.F1 > 1 || math.IsNaN(s.F1) {
			t.Errorf("F1 %v out of range", s.F1)
		}
		if ExactMatch(pred, gold) && Normalize(gold) != "" && !isSpecial(Normalize(gold)) && s.F1 != 1 {
			t.Errorf("exact match but F1 %v", s.F1)
		}
	})
}

// hasSpecialLower marks text whose lowercasing is context-dependent or
// changes length (final sigma, dotted capital I), where a second pass may
// legitimately differ.
func hasSpecialLower(s string) bool {
	for _, r := range s {
		if r == 0x3a3 || r == 0x130 || r == 0x3c2 {
			return true
		}
	}
	return false
}
