package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rl"
)

// tinyConfig is train's config small enough for unit tests: every phase
// and a checkpoint every step.
const tinyConfig = "../../train/testdata/tiny.yaml"

// jsonLines are the lines of a JSONL file the command wrote whole.
func jsonLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestTrainSmoke runs the whole training command at toy size and checks
// what it leaves: metrics for every step, a report, and policies that ask
// can load; a second run into the same directory without --resume refuses.
func TestTrainSmoke(t *testing.T) {
	cfg := tinyConfig
	out := filepath.Join(t.TempDir(), "run")
	if _, err := runCmd(t, "train", "--config", cfg, "--out", out); err != nil {
		t.Fatal(err)
	}
	if n := len(jsonLines(t, filepath.Join(out, "metrics.jsonl"))); n != 9 {
		t.Errorf("metrics.jsonl has %d lines, want 9 (3 steps of each phase)", n)
	}
	for _, p := range []string{"sft", "policy"} {
		if _, err := loadLocal(filepath.Join(out, p), "", "", false); err != nil {
			t.Errorf("saved %s policy does not load: %v", p, err)
		}
	}
	samples := jsonLines(t, filepath.Join(out, "samples.jsonl"))
	if len(samples) == 0 {
		t.Fatal("samples.jsonl is empty")
	}
	for _, line := range samples {
		var s rl.TraceSample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatal(err)
		}
		// seed 3: the training family is w3, w4; RL's fresh worlds w2000003, w2000004
		if !strings.HasPrefix(s.ID, "w200000") {
			t.Errorf("RL sampled %s, want questions of the fresh RL worlds only", s.ID)
		}
	}
	if p, err := agent.LoadPreset(filepath.Join(out, "preset.yaml")); err != nil || p.TopK != 2 || p.Name != "searchr1" {
		t.Errorf("preset.yaml: %v, top_k %d, name %q; want the searchr1 preset with the config's top_k 2", err, p.TopK, p.Name)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("Sampled episodes")) {
		t.Errorf("report: %v, %d bytes", err, len(b))
	}
	if _, err := runCmd(t, "train", "--config", cfg, "--out", out); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second run into a used directory: %v, want a refusal naming --resume", err)
	}
	if _, err := runCmd(t, "train", "--config", cfg, "--out", out, "--resume"); err != nil {
		t.Errorf("resuming a finished run: %v", err)
	}
}
