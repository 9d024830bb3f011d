package train

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/examples"
)

// TestBuiltinBaseMatchesRecipe checks every committed base checkpoint
// (examples/base, examples/base3) against its manifest and the manifest
// against the recipe of the same name: every file's hash, and the hash of
// the recipe as a run writes it (seed included).
func TestBuiltinBaseMatchesRecipe(t *testing.T) {
	entries, err := fs.ReadDir(examples.Base, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Contains(names, "base") || !slices.Contains(names, "base3") {
		t.Fatalf("built-in bases %v, want base and base3", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) { checkBuiltinBase(t, name) })
	}
}

func checkBuiltinBase(t *testing.T, name string) {
	mb, err := examples.Base.ReadFile(name + "/base.json")
	if err != nil {
		t.Fatalf("no committed base manifest: %v", err)
	}
	var man BaseManifest
	if err := json.Unmarshal(mb, &man); err != nil {
		t.Fatal(err)
	}
	if man.Recipe != name || man.Command != "sleuth train --config "+name+" --out DIR --export examples/"+name {
		t.Errorf("manifest recipe %q, command %q: examples/%s is made by the recipe %s", man.Recipe, man.Command, name, name)
	}
	for _, file := range append(BaseFiles[:len(BaseFiles):len(BaseFiles)], baseMetrics) {
		b, err := examples.Base.ReadFile(name + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(b); got != man.Files[file] {
			t.Errorf("%s: SHA-256 %s, manifest %s", file, got, man.Files[file])
		}
		if file == "model.safetensors" && len(b) > 16<<20 {
			t.Errorf("model.safetensors is %d bytes, over the 16 MB a committed checkpoint may have", len(b))
		}
	}
	cfg, err := LoadConfig(examples.Training, name)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256Hex(y); got != man.ConfigSHA256 || cfg.Seed != man.Seed {
		t.Errorf("%s.yaml (seed %d) hashes to %s; the committed base was made by config %s, seed %d: run %s", name, cfg.Seed, got, man.ConfigSHA256, man.Seed, man.Command)
	}
	// The committed curve ends where the manifest says the gate stopped.
	curve, err := examples.Base.ReadFile(name + "/" + baseMetrics)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(curve)), "\n")
	var last metricLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Phase != phasePretrain || last.Step+1 != man.Steps || last.TokensPS != 0 {
		t.Errorf("metrics.jsonl ends at %s step %d (tokens/s %v); the manifest says %d pre-training steps, and a committed curve has no timings", last.Phase, last.Step, last.TokensPS, man.Steps)
	}
	if man.ProbeOpen > cfg.Pretrain.GateProbe {
		t.Errorf("the committed base's open-book probe %.3f is above the recipe's gate %.3f", man.ProbeOpen, cfg.Pretrain.GateProbe)
	}
	ref := builtinRef(name)
	if _, err := openBase(ref, t.TempDir(), examples.Base); err != nil {
		t.Errorf("open the built-in base %s: %v", ref, err)
	}
}

// TestBuiltinBaseRefs: the names base: takes for built-in bases, and a
// clear refusal of one that is not built in.
func TestBuiltinBaseRefs(t *testing.T) {
	for _, tc := range []struct {
		ref, name string
		ok        bool
	}{
		{"builtin", "base", true},
		{"builtin:base3", "base3", true},
		{"builtin:", "", true},
		{"/tmp/base", "", false},
		{"base3", "", false},
	} {
		name, ok := BuiltinBase(tc.ref)
		if name != tc.name || ok != tc.ok {
			t.Errorf("BuiltinBase(%q) = %q, %v; want %q, %v", tc.ref, name, ok, tc.name, tc.ok)
		}
	}
	for _, ref := range []string{"builtin:nope", "builtin:", "builtin:../base", "builtin:base/x"} {
		_, err := openBase(ref, t.TempDir(), examples.Base)
		if err == nil || !strings.Contains(err.Error(), ref) {
			t.Errorf("openBase(%q): %v, want a refusal naming it", ref, err)
		}
	}
	if _, err := openBase("builtin:nope", t.TempDir(), examples.Base); err == nil || !strings.Contains(err.Error(), "builtin, builtin:base3") {
		t.Errorf("a missing built-in base's error should list the built-in ones: %v", err)
	}
}

// tinyVariant writes tinyTrain with each old→new pair of edits applied
// (old must occur) into a new directory and returns the file's path.
func tinyVariant(t *testing.T, edits ...string) string {
	t.Helper()
	cfg := tinyTrain(t)
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
	if err := trainAt(path, filepath.Join(dir, "run"), false, export); err != nil {
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
	var man BaseManifest
	b, err := os.ReadFile(filepath.Join(base, "base.json"))
	if err != nil || json.Unmarshal(b, &man) != nil || man.Steps != 2 || len(man.Files) != 4 {
		t.Fatalf("manifest: %v %+v; want 2 steps (the gate passes at once) and four hashed files (metrics too)", err, man)
	}
	path := tinyVariant(t, "pretrain: {steps: 3,", "base: "+base+"\npretrain: {steps: 0,",
		"sft: {steps: 3,", "sft: {steps: 3, continue_steps: 2, lr: 1.0e-3,")
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	if err := trainAt(path, out, false, ""); err != nil {
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
		if err := loadPolicy(filepath.Join(out, p)); err != nil {
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
	if err := trainAt(path, filepath.Join(dir, "run2"), false, ""); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("a base with a changed tokenizer: %v, want a hash refusal", err)
	}
}

// TestReadingGate checks pre-training's gate: a gate no probe can pass
// stops at max_steps, in whole blocks of checkpoint.every, or with
// rewarm_lr in cycles of rewarm_steps whose rate leaves the steps up to
// pretrain.steps as they were.
func TestReadingGate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	run := func(pretrain string) (losses []float64, log string) {
		path := tinyVariant(t, "pretrain: {steps: 3,", pretrain, "sft: {steps: 3,", "sft: {steps: 0,", "rl: {steps: 3,", "rl: {steps: 0,")
		var buf bytes.Buffer
		out := filepath.Join(t.TempDir(), "run")
		if err := trainLogged(path, out, false, "", &buf); err != nil {
			t.Fatal(err)
		}
		for _, m := range comparableMetrics(t, filepath.Join(out, "metrics.jsonl")) {
			losses = append(losses, m["loss"].(float64))
		}
		return losses, buf.String()
	}
	plain, plog := run("pretrain: {steps: 2, gate_probe: 0.001, max_steps: 7,")
	if len(plain) != 7 || !strings.Contains(plog, "not passed at step 6 (") {
		t.Errorf("%d pre-training steps, want max_steps 7 in blocks of 1 (a gate of 0.001 is never passed):\n%s", len(plain), plog)
	}
	re, rlog := run("pretrain: {steps: 2, gate_probe: 0.001, max_steps: 7, rewarm_lr: 0.01, rewarm_steps: 3,")
	for _, want := range []string{"not passed at step 2 (", "pre-training to step 5\n", "not passed at step 5 (", "pre-training to step 7\n"} {
		if !strings.Contains(rlog, want) {
			t.Errorf("with rewarm cycles of 3 the log lacks %q:\n%s", want, rlog)
		}
	}
	if strings.Contains(rlog, "not passed at step 3 (") || len(re) != 7 {
		t.Errorf("%d steps, gate read inside a cycle: want 7 steps, gate read at 2 and 5 only:\n%s", len(re), rlog)
	}
	// The loss of step i is taken before its update: steps 0–2 see the
	// first cycle's rates alone, step 3 the re-warmed rate of step 2.
	if len(re) == 7 && len(plain) == 7 {
		if !slices.Equal(re[:3], plain[:3]) || re[3] == plain[3] {
			t.Errorf("losses with rewarm %v, without %v: want the first three equal and the fourth apart", re, plain)
		}
	}
}
