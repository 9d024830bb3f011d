package train

import (
	"testing"
)

// TestSeedFamiliesDisjoint checks the split the quickstart's honesty rests
// on: for every run seed in a wide range, no validation world is a test
// world of any run seed, and neither is a world any training phase reads.
func TestSeedFamiliesDisjoint(t *testing.T) {
	const runs = 20_000
	test := map[int64]bool{}
	for s := int64(1); s <= runs; s++ {
		test[HeldOutSeed(s)] = true
	}
	training := func(s int64) [][2]int64 { // [lo, hi] ranges a run with seed s trains on
		return [][2]int64{
			{s, s + 499}, // the training family
			{s + offsetPretrain, s + offsetPretrain + 99_999}, // pre-training's worlds per step
			{s + offsetRL, s + offsetRL + 499},                // RL's fresh family
			{s + offsetProbe, s + offsetProbe},
			{s + offsetSFTRead, s + offsetSFTRead + 99_999},
			{s + offsetSFTFresh, s + offsetSFTFresh + 99_999},
		}
	}
	for s := int64(1); s <= runs; s++ {
		v := ValidationSeed(s)
		if test[v] {
			t.Fatalf("validation world of seed %d (%d) is a test world", s, v)
		}
		if v == HeldOutSeed(s) {
			t.Fatalf("seed %d: validation and test worlds are one", s)
		}
		for _, r := range training(s) {
			if h := HeldOutSeed(s); h >= r[0] && h <= r[1] {
				t.Fatalf("seed %d: test world %d is read by training (%v)", s, h, r)
			}
			if v >= r[0] && v <= r[1] {
				t.Fatalf("seed %d: validation world %d is read by training (%v)", s, v, r)
			}
		}
	}
}
