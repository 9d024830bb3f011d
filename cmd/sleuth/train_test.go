package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainSmoke runs the whole training command at toy size: world,
// index, tokenizer, oracle SFT, GRPO, and a saved policy that ask can load.
func TestTrainSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	var buf bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&buf)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"train", "--out", out, "--sft-steps", "3", "--rl-steps", "1", "--dim", "32", "--layers", "1", "--vocab", "600", "--seq-len", "768"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("metrics: %v, %d lines", err, strings.Count(string(b), "\n"))
	}
	if _, err := loadLocal(filepath.Join(out, "policy"), "", ""); err != nil {
		t.Fatalf("saved policy does not load: %v", err)
	}
}
