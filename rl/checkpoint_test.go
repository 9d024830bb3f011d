package rl

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPrune checks that pruning keeps the newest checkpoints in the order
// a run makes them, whatever phase they belong to, and the current one.
func TestPrune(t *testing.T) {
	cases := []struct {
		name    string
		dirs    []string
		current string
		keep    int
		want    []string
	}{
		{"pre-training", []string{"pretrain-000025", "pretrain-000050", "pretrain-000075"}, "pretrain-000075", 2, []string{"pretrain-000050", "pretrain-000075"}},
		{"across phases", []string{"pretrain-000800", "sft-000025", "sft-000100", "rl-000005"}, "rl-000005", 2, []string{"rl-000005", "sft-000100"}},
		{"done last", []string{"rl-000020", "done-000000", "sft-000100"}, "done-000000", 2, []string{"done-000000", "rl-000020"}},
		{"temporaries and strangers", []string{"sft-000001.tmp", "notes", "sft-000002"}, "sft-000002", 2, []string{"notes", "sft-000002"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range c.dirs {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			prune(dir, c.current, c.keep)
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Name())
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("left %v, want %v", got, c.want)
			}
		})
	}
}
