package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/world"
)

func TestWorldCmd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string // in stdout, or in the error when wantErr
		err  bool
	}{
		{"summary", []string{"--seed", "4", "--entities", "100", "--questions", "120"}, "3-hop:", false},
		{"json", []string{"--seed", "4", "--entities", "100", "--questions", "120", "--json"}, `"questions":120`, false},
		{"no out", []string{"--seed", "4"}, "--out DIR is required", true},
		{"too small", []string{"--entities", "5"}, "at least 60", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "w")
			args := tc.args
			if tc.name != "no out" {
				args = append(args, "--out", dir)
			}
			var out bytes.Buffer
			cmd := newWorldCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(args)
			err := cmd.Execute()
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output %q lacks %q", out.String(), tc.want)
			}
			w, err := world.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Questions) != 120 || w.Seed != 4 {
				t.Fatalf("loaded %d questions of seed %d, want 120 of seed 4", len(w.Questions), w.Seed)
			}
			if strings.Contains(tc.name, "json") {
				var s world.Summary
				if err := json.Unmarshal(out.Bytes(), &s); err != nil {
					t.Fatalf("--json output %q: %v", out.String(), err)
				}
			}
		})
	}
}
