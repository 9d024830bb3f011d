package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/rl"
)

func TestResumable(t *testing.T) {
	tests := []struct {
		key, new string
		st       rl.State
		want     bool
	}{
		{"checkpoint.keep", "5", rl.State{Phase: phaseDone}, true},
		{"rl.steps", "40", rl.State{Phase: phaseSFT, Step: 3}, true},
		{"rl.steps", "40", rl.State{Phase: phaseRL, Step: 30}, true},
		{"rl.steps", "40", rl.State{Phase: phaseRL, Step: 40}, true},
		{"rl.steps", "20", rl.State{Phase: phaseRL, Step: 30}, false}, // already trained past it
		{"rl.steps", "40", rl.State{Phase: phaseBestSFT}, false},
		{"rl.steps", "40", rl.State{Phase: phaseDone}, false},
		{"lr", "0.001", rl.State{Phase: phasePretrain}, false},
		{"sft.lr", "0.001", rl.State{Phase: phasePretrain}, false},
		{"rl.kl_coef", "0.05", rl.State{Phase: phasePretrain}, false},
		{"pretrain.rewarm_lr", "0.001", rl.State{Phase: phasePretrain, Step: 1500}, true}, // pretrain.steps 1,500: not yet in force
		{"pretrain.rewarm_lr", "0.001", rl.State{Phase: phasePretrain, Step: 1525}, false},
		{"pretrain.rewarm_lr", "0.001", rl.State{Phase: phaseSFT}, false},
	}
	for _, tc := range tests {
		if got := resumable(settingChange{Key: tc.key, Old: "1", New: tc.new}, tc.st, 1500); got != tc.want {
			t.Errorf("%s → %s at %+v: resumable %v, want %v", tc.key, tc.new, tc.st, got, tc.want)
		}
	}
}

// TestResumeSettings resumes a finished run with changed settings: a
// changed learning rate is refused by name with both values (it used to
// be ignored while config.yaml claimed it), checkpoint.keep is applied,
// and config.yaml and run.json then say what is in force.
func TestResumeSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a policy")
	}
	small := []string{"pretrain: {steps: 3,", "pretrain: {steps: 1,", "sft: {steps: 3,", "sft: {steps: 1,", "rl: {steps: 3,", "rl: {steps: 1,"}
	out := filepath.Join(t.TempDir(), "run")
	if err := trainAt(tinyVariant(t, small...), out, false, ""); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name  string
		edits []string
		want  string
	}{
		{"learning rate", []string{"seed: 3\n", "seed: 3\nlr: 0.001\n"}, "lr 0.003 (this config: 0.001)"},
		{"rl steps after RL", []string{"rl: {steps: 1,", "rl: {steps: 2,"}, "rl.steps 1 (this config: 2)"},
		{"critic", []string{"rl: {steps: 1,", "rl: {steps: 1, gamma: 0.9,"}, "rl.gamma (unset) (this config: 0.9)"},
	}
	for _, tc := range refusals {
		err := trainAt(tinyVariant(t, append(small, tc.edits...)...), out, true, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--force-new") {
			t.Errorf("%s: %v, want a refusal naming %q", tc.name, err, tc.want)
		}
	}
	if err := trainAt(tinyVariant(t, append(small, "checkpoint: {every: 1}", "checkpoint: {every: 1, keep: 3}")...), out, true, ""); err != nil {
		t.Fatalf("checkpoint.keep changed on resume: %v", err)
	}
	cfg, err := os.ReadFile(filepath.Join(out, "config.yaml"))
	if err != nil || !strings.Contains(string(cfg), "keep: 3") {
		t.Errorf("config.yaml after applying keep 3 (%v):\n%s", err, cfg)
	}
	var id runIdentity
	b, _ := os.ReadFile(filepath.Join(out, "run.json"))
	if err := json.Unmarshal(b, &id); err != nil || id.ConfigSHA256 != sha256Hex(cfg) {
		t.Errorf("run.json %s (%v) does not name config.yaml's hash %s", b, err, sha256Hex(cfg))
	}
}
