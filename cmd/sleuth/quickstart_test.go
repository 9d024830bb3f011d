package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/train"
)

// TestQuickstartFast runs the README's main job at CI size: it must train
// every phase, evaluate every policy on the held-out world, print the table
// as one JSON object on its last line, and leave a report and a policy that
// ask can load.
func TestQuickstartFast(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	out := filepath.Join(t.TempDir(), "qs")
	stdout, err := runCmd(t, "quickstart", "--fast", "--json", "--out", out, "--questions-per-hop", "4")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var table train.Table
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &table); err != nil {
		t.Fatalf("last line is not the JSON table: %v\n%s", err, stdout)
	}
	var names []string
	for _, p := range table.Policies {
		names = append(names, p.Policy)
		if p.Questions != 12 || p.EMByHops == nil || p.Searches == nil {
			t.Errorf("%s: %d questions, by-hop figures %v %v", p.Policy, p.Questions, p.EMByHops, p.Searches)
		}
	}
	if len(names) != 6 {
		t.Fatalf("policies %v, want no retrieval, retrieve once, SFT, best SFT, RL, oracle", names)
	}
	if table.RLMinusBestSFT == nil || len(table.OneHop) != 4 {
		t.Errorf("comparisons: RL − best SFT %v, %d 1-hop ones; want both", table.RLMinusBestSFT, len(table.OneHop))
	}
	oracle := table.Policies[5]
	if oracle.EM.Mean != 1 || oracle.Searches["1"] != 1 || oracle.Searches["3"] != 3 {
		t.Errorf("oracle: EM %.2f, searches %v; want 1 and one search per hop", oracle.EM.Mean, oracle.Searches)
	}
	if table.HeldOutSeed == 1 {
		t.Error("held-out world has the training seed")
	}
	for _, p := range []string{"report.html", "train/policy/tokenizer.json", "train/sft/model.safetensors", "train/best-sft/model.safetensors", "eval/sft/results.jsonl", "train/run.json"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("quickstart left no %s: %v", p, err)
		}
	}
	if _, err := loadLocal(filepath.Join(out, "train", "policy"), "", "", false); err != nil {
		t.Errorf("saved policy does not load: %v", err)
	}
}

// TestQuickstartRefusesAnotherSeed: a quickstart into a directory made by
// another seed refuses before training, and --force-new starts anew.
func TestQuickstartRefusesAnotherSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	cfg := tinyConfig
	out := filepath.Join(t.TempDir(), "qs")
	args := []string{"quickstart", "--config", cfg, "--out", out, "--questions-per-hop", "2"}
	if _, err := runCmd(t, append(args, "--seed", "1")...); err != nil {
		t.Fatal(err)
	}
	_, err := runCmd(t, append(args, "--seed", "7")...)
	if err == nil || !strings.Contains(err.Error(), "seed 1") || !strings.Contains(err.Error(), "--force-new") {
		t.Fatalf("quickstart --seed 7 into seed 1's directory: %v, want a refusal naming seed 1 and --force-new", err)
	}
	if _, err := runCmd(t, append(args, "--seed", "1")...); err != nil {
		t.Errorf("the same seed again (resume): %v", err)
	}
	stdout, err := runCmd(t, append(args, "--seed", "7", "--force-new", "--json")...)
	if err != nil {
		t.Fatalf("--force-new: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var table train.Table
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &table); err != nil || table.HeldOutSeed != train.HeldOutSeed(7) {
		t.Errorf("after --force-new: %v, held-out seed %d, want %d", err, table.HeldOutSeed, train.HeldOutSeed(7))
	}
}
