package bm25

import "testing"

func TestMemBudgetFor(t *testing.T) {
	for _, tc := range []struct{ total, want int64 }{
		{0, DefaultMemBudget},
		{-1, DefaultMemBudget},
		{512 << 20, 256 << 20},
		{8 << 30, 2 << 30},
		{64 << 30, 4 << 30},
	} {
		if got := MemBudgetFor(tc.total); got != tc.want {
			t.Errorf("MemBudgetFor(%d) = %d, want %d", tc.total, got, tc.want)
		}
	}
}
