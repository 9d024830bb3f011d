package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/examples"
)

// TestSeedFamiliesDisjoint checks the split the quickstart's honesty rests
// on: for every run seed in a wide range, no validation world is a test
// world of any run seed, and neither is a world any training phase reads.
func TestSeedFamiliesDisjoint(t *testing.T) {
	const runs = 20_000
	test := map[int64]bool{}
	for s := int64(1); s <= runs; s++ {
		test[heldOutSeed(s)] = true
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
		v := validationSeed(s)
		if test[v] {
			t.Fatalf("validation world of seed %d (%d) is a test world", s, v)
		}
		if v == heldOutSeed(s) {
			t.Fatalf("seed %d: validation and test worlds are one", s)
		}
		for _, r := range training(s) {
			if h := heldOutSeed(s); h >= r[0] && h <= r[1] {
				t.Fatalf("seed %d: test world %d is read by training (%v)", s, h, r)
			}
			if v >= r[0] && v <= r[1] {
				t.Fatalf("seed %d: validation world %d is read by training (%v)", s, v, r)
			}
		}
	}
}

// TestBuiltinBaseMatchesRecipe checks the committed base checkpoint
// against its manifest and the manifest against the recipe: every file's
// hash, and the hash of base.yaml as a run writes it (seed included).
func TestBuiltinBaseMatchesRecipe(t *testing.T) {
	mb, err := examples.Base.ReadFile("base/base.json")
	if err != nil {
		t.Fatalf("no committed base manifest: %v", err)
	}
	var man baseManifest
	if err := json.Unmarshal(mb, &man); err != nil {
		t.Fatal(err)
	}
	for _, name := range baseFiles {
		b, err := examples.Base.ReadFile("base/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(b); got != man.Files[name] {
			t.Errorf("%s: SHA-256 %s, manifest %s", name, got, man.Files[name])
		}
		if name == "model.safetensors" && len(b) > 16<<20 {
			t.Errorf("model.safetensors is %d bytes, over the 16 MB a committed checkpoint may have", len(b))
		}
	}
	cfg, err := loadTrainConfig("base")
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hex(y); got != man.ConfigSHA256 || cfg.Seed != man.Seed {
		t.Errorf("base.yaml (seed %d) hashes to %s; the committed base was made by config %s, seed %d: run %s", cfg.Seed, got, man.ConfigSHA256, man.Seed, man.Command)
	}
	if man.ProbeOpen > cfg.Pretrain.GateProbe {
		t.Errorf("the committed base's open-book probe %.3f is above the recipe's gate %.3f", man.ProbeOpen, cfg.Pretrain.GateProbe)
	}
	if dir := t.TempDir(); true {
		if _, err := openBase("builtin", dir); err != nil {
			t.Errorf("open the built-in base: %v", err)
		}
	}
}

// tinyVariant writes tinyTrain with each old→new pair of edits applied
// (old must occur) into a new directory and returns the file's path.
func tinyVariant(t *testing.T, edits ...string) string {
	t.Helper()
	cfg := tinyTrain
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(cfg, edits[i]) {
			t.Fatalf("tinyTrain has no %q", edits[i])
		}
		cfg = strings.Replace(cfg, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyBase pre-trains the tiny config alone (with a reading gate that
// passes at once) and exports it as a base checkpoint.
func tinyBase(t *testing.T) string {
	t.Helper()
	path := tinyVariant(t, "sft: {steps: 3,", "sft: {steps: 0,", "rl: {steps: 3,", "rl: {steps: 0,",
		"pretrain: {steps: 3,", "pretrain: {steps: 2, gate_probe: 100, max_steps: 4,")
	dir := t.TempDir()
	export := filepath.Join(dir, "export")
	if _, err := runCmd(t, "train", "--config", path, "--out", filepath.Join(dir, "run"), "--export", export); err != nil {
		t.Fatal(err)
	}
	return export
}

// TestStartFromBase exports a base, trains SFT, RL and the best-SFT
// baseline from it, and refuses a base whose file was changed.
func TestStartFromBase(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	base := tinyBase(t)
	var man baseManifest
	b, err := os.ReadFile(filepath.Join(base, "base.json"))
	if err != nil || json.Unmarshal(b, &man) != nil || man.Steps != 2 || len(man.Files) != 3 {
		t.Fatalf("manifest: %v %+v; want 2 steps (the gate passes at once) and three hashed files", err, man)
	}
	path := tinyVariant(t, "pretrain: {steps: 3,", "base: "+base+"\npretrain: {steps: 0,",
		"sft: {steps: 3,", "sft: {steps: 3, continue_steps: 2, lr: 1.0e-3,")
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	if _, err := runCmd(t, "train", "--config", path, "--out", out); err != nil {
		t.Fatal(err)
	}
	phases := map[string]int{}
	for _, m := range comparableMetrics(t, filepath.Join(out, "metrics.jsonl")) {
		phases[m["phase"].(string)]++
	}
	if phases["pretrain"] != 0 || phases["sft"] != 3 || phases["rl"] != 3 || phases["best-sft"] != 2 {
		t.Errorf("steps by phase %v, want no pre-training, 3 SFT, 3 RL, 2 best-SFT", phases)
	}
	for _, p := range []string{"sft", "policy", "best-sft"} {
		if _, err := loadLocal(filepath.Join(out, p), "", "", false); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	tb, _ := os.ReadFile(filepath.Join(out, "tokenizer.json"))
	if sha256Hex(tb) != man.Files["tokenizer.json"] {
		t.Error("the run's tokenizer is not the base's")
	}
	// A changed file is refused by its hash.
	if err := os.WriteFile(filepath.Join(base, "tokenizer.json"), append(tb, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, "train", "--config", path, "--out", filepath.Join(dir, "run2")); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("a base with a changed tokenizer: %v, want a hash refusal", err)
	}
}

// TestReadingGate checks pre-training's gate: a gate no probe can pass
// stops at max_steps, in whole blocks of checkpoint.every.
func TestReadingGate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	path := tinyVariant(t, "pretrain: {steps: 3,", "pretrain: {steps: 2, gate_probe: 0.001, max_steps: 4,",
		"sft: {steps: 3,", "sft: {steps: 0,", "rl: {steps: 3,", "rl: {steps: 0,")
	out := filepath.Join(t.TempDir(), "run")
	if _, err := runCmd(t, "train", "--config", path, "--out", out); err != nil {
		t.Fatal(err)
	}
	if n := len(comparableMetrics(t, filepath.Join(out, "metrics.jsonl"))); n != 4 {
		t.Errorf("%d pre-training steps, want max_steps 4 (a gate of 0.001 is never passed)", n)
	}
}

// TestQuickstartRefusesAnotherSeed: a quickstart into a directory made by
// another seed refuses before training, and --force-new starts anew.
func TestQuickstartRefusesAnotherSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	cfg := writeTiny(t)
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
	var table evalTable
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &table); err != nil || table.HeldOutSeed != heldOutSeed(7) {
		t.Errorf("after --force-new: %v, held-out seed %d, want %d", err, table.HeldOutSeed, heldOutSeed(7))
	}
}

// TestBuildTable checks the table's arithmetic on a hand-built fixture:
// four questions (1, 2, 2, 3 hops) answered by each policy.
func TestBuildTable(t *testing.T) {
	hops := []int{1, 2, 2, 3}
	res := func(em []float64, searches []int) []eval.Result {
		out := make([]eval.Result, len(em))
		for i := range em {
			out[i] = eval.Result{ID: string(rune('a' + i)), Hops: hops[i], EM: em[i], F1: em[i], Searches: searches[i]}
		}
		return out
	}
	rows := []policyRow{
		rowOf("none", "none", res([]float64{0, 0, 0, 0}, []int{1, 1, 1, 1})),
		rowOf("once", "once", res([]float64{1, 1, 0, 0}, []int{1, 1, 1, 1})),
		rowOf("sft", "sft", res([]float64{1, 0, 0, 0}, []int{1, 1, 2, 2})),
		rowOf("best", "best-sft", res([]float64{1, 1, 0, 0}, []int{1, 2, 2, 2})),
		rowOf("rl", "rl", res([]float64{1, 1, 1, 1}, []int{1, 2, 2, 3})),
	}
	tb, err := buildTable(splitTest, 501, rows)
	if err != nil {
		t.Fatal(err)
	}
	rl := tb.Policies[4]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	checks := []struct {
		what      string
		got, want float64
	}{
		{"RL EM", rl.EM.Mean, 1},
		{"RL correct", float64(rl.Correct), 4},
		{"RL multi-hop correct", float64(rl.MultiHopCorrect), 3},
		{"RL multi-hop questions", float64(rl.MultiHop), 3},
		{"RL searches on 2 hops", rl.Searches["2"], 2},
		{"RL searches on 3 hops", rl.Searches["3"], 3},
		{"SFT searches on 2 hops", tb.Policies[2].Searches["2"], 1.5},
		{"SFT EM on 1 hop", tb.Policies[2].EMByHops["1"], 1},
		{"retrieve-once multi-hop EM", tb.Policies[1].MultiHopEM.Mean, 1.0 / 3},
		{"RL − SFT on 2–3 hops", tb.GRPOMinusSFT.Diff.Mean, 1},       // (3−0)/3
		{"RL ÷ retrieve-once on 2–3 hops", tb.RLOverRetrieveOnce, 3}, // 1 ÷ 1/3
		{"RL − best SFT overall", tb.RLMinusBestSFT.Diff.Mean, 0.5},  // (4−2)/4
		{"best-SFT multi-hop correct", float64(tb.Policies[3].MultiHopCorrect), 1},
		{"1-hop comparisons", float64(len(tb.OneHop)), 4},
		{"SFT − once on 1 hop", tb.OneHop[0].Paired.Diff.Mean, 0}, // both right on the one 1-hop question
		{"SFT − none on 1 hop", tb.OneHop[1].Paired.Diff.Mean, 1},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if d := tb.GRPOMinusSFT.Diff; d.Lo > d.Mean || d.Hi < d.Mean {
		t.Errorf("interval %+v does not hold its mean", d)
	}
	var sb strings.Builder
	printTable(&sb, tb)
	for _, want := range []string{"test world (seed 501)", "3/3", "RL − best SFT on every question: +50.0 points", "RL ÷ retrieve-once there: 3.00×", "sft − none +100.0"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("printed table lacks %q:\n%s", want, sb.String())
		}
	}
}
