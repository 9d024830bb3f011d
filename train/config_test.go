package train

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/rl"
)

func TestConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "rl: {stepz: 3}\n", "line 1: unknown field stepz"},
		{"unknown field on its line", "seed: 2\nworld:\n  count: 2\n  entitys: 80\n", "line 4: unknown field entitys"},
		{"unknown rl field on its line", "seed: 2\nrl:\n  steps: 2\n  gama: 0.9\n", "line 4: unknown field gama"},
		{"the loop's seed is the run's", "rl: {seed: 4}\n", "line 1: unknown field seed"},
		{"unknown top-level field", "seeds: 3\n", "line 1: unknown field seeds"},
		{"bad algorithm", "rl: {algorithm: sarsa}\n", "sarsa"},
		{"hops", "rl: {min_hops: 3, max_hops: 2}\n", "min_hops"},
		{"heads", "model: {dim: 30, heads: 4}\n", "multiple"},
		{"rows over the batch", "pretrain: {batch: 4, trace_rows: 3, copy_rows: 2}\n", "trace_rows"},
		{"trace tokens", "pretrain: {trace_rows: 2, trace_tokens: 10}\n", "trace_tokens"},
		{"split", "tokenizer: {split: bert}\n", "bert"},
		{"chain share", "pretrain: {read_chains: 1.5}\n", "read_chains"},
		{"decay", "lr_decay_steps: -5\n", "lr_decay_steps"},
		{"top k", "top_k: 50\n", "top_k 50"},
		{"rl worlds", "rl: {worlds: held-out}\n", "held-out"},
		{"sft worlds", "sft: {worlds: test}\n", "sft worlds"},
		{"pretrain hops", "pretrain: {max_hops: -1}\n", "pretrain.max_hops -1"},
		{"hop shares past max_hops", "sft: {max_hops: 1, hop_shares: [0.8, 0.2]}\n", "hop_shares"},
		{"negative hop share", "sft: {max_hops: 2, hop_shares: [1.2, -0.2]}\n", "hop_shares"},
		{"zero hop shares", "sft: {max_hops: 2, hop_shares: [0, 0]}\n", "hop_shares"},
		{"critic", "rl: {algorithm: ppo, group: 1, gamma: 1.5}\n", "gamma"},
		{"guide_sft without the guide", "rl: {guide_sft: 1.0}\n", "guide_sft 1 needs guide"},
		{"rewarm without its steps", "pretrain: {steps: 4, gate_probe: 0.5, max_steps: 8, rewarm_lr: 1.0e-3}\n", "rewarm_lr 0.001 and rewarm_steps 0 come together"},
		{"rewarm without a gate", "pretrain: {steps: 4, rewarm_lr: 1.0e-3, rewarm_steps: 30}\n", "needs a reading gate"},
		{"rewarm cycles shorter than the warm-up", "pretrain: {steps: 400, gate_probe: 0.5, max_steps: 800, rewarm_lr: 1.0e-3, rewarm_steps: 20}\n", "longer than the warm-up"},
		{"guide_sft under ppo", "rl: {algorithm: ppo, group: 1, guide: true, guide_sft: 1.0}\n", "group estimator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "struct {") {
				t.Errorf("error %v, want one naming %q (and no Go types)", err, tc.want)
			}
		})
	}
}

// TestEveryExampleConfigLoads loads every examples/train/*.yaml, by name
// as `--config NAME` does.
func TestEveryExampleConfigLoads(t *testing.T) {
	names, err := fs.Glob(examples.Training, "train/*.yaml")
	if err != nil || len(names) < 6 {
		t.Fatalf("built-in configs %v: %v", names, err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "train/"), ".yaml")
		if _, err := LoadConfig(examples.Training, name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

// TestConfigYAMLStable pins config.yaml as the code before the rl section
// embedded rl.Config wrote it, for every built-in config: its hash names
// a run (run.json) and the committed base (base.json), so the same config
// must keep marshalling to the same bytes, and so parse to the same values.
func TestConfigYAMLStable(t *testing.T) {
	want := map[string]string{
		"base":       "a648e1d025734f3285d8d386ef85d5b6cb1d9ababb4a63a3929c2678998e37e4",
		"base3":      "d623dd340f54eaac1813e0db46c34627b7bdf316b2ccf607bf9c4f05d2148bb1",
		"fast":       "4fe313b32cc8a7cb4374eeda5955e7d60e2c8ffcd82b17bb6cdb3323cee8a21e",
		"fresh-sft":  "d64b12321687cc3da3cde09e2995be4389d94bf5f7edc0869154cda1c25383ac",
		"progress":   "437396f835a101c649f542bd8e9f2b846d0b68d67ca8277788b6b1926cc6f21e",
		"quickstart": "667765c07169361791d5e07f058f48528842d85a9a866a55ab3121ebd39de28d",
		"reading":    "5c63b984fe5b20f74124abb59488eccb0873802186043d1b6f11213f2413414c",
	}
	for name, h := range want {
		c, err := LoadConfig(examples.Training, name)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(y); hex.EncodeToString(sum[:]) != h {
			t.Errorf("%s marshals to other bytes than before:\n%s", name, y)
		}
	}
}

// TestRLSectionIsRLConfig: the rl section sets rl.Config's fields,
// PPO's critic included, and they survive config.yaml.
func TestRLSectionIsRLConfig(t *testing.T) {
	c, err := ParseConfig("ppo.yaml", []byte("rl: {algorithm: ppo, group: 1, gamma: 0.99, lambda: 0.9, value_lr: 0.02, value_steps: 20, clip_high: 0.28, kl: k3, kl_coef: 0.05, max_len: 900}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := rl.Config{Estimator: rl.PPO, Group: 1, Epochs: 1, Gamma: 0.99, Lambda: 0.9, ValueLR: 0.02, ValueSteps: 20,
		Loss: rl.LossConfig{ClipHigh: 0.28, KL: rl.KLk3, KLCoef: 0.05, MaxLen: 900}}
	if c.RL.Config != want {
		t.Errorf("rl.Config %+v, want %+v", c.RL.Config, want)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := yaml.Unmarshal(y, &back); err != nil || back.RL != c.RL {
		t.Errorf("config.yaml reads back as %+v (%v), want %+v", back.RL, err, c.RL)
	}
	if !strings.Contains(string(y), "    entropy: 0\n    worlds: \"\"\n    max_len: 900\n    gamma: 0.99\n") {
		t.Errorf("rl section not in the pinned order, rl.Config's new keys after it:\n%s", y)
	}
}

// FuzzParseConfig: any bytes give a config or an error, never a panic,
// and an accepted config passes its own validation.
func FuzzParseConfig(f *testing.F) {
	tiny, err := fs.ReadFile(testdata, "tiny.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny)
	f.Add([]byte("rl: {algorithm: ppo, group: 1}\n"))
	f.Add([]byte("model: {dim: 0, heads: 0}\n"))
	f.Add([]byte("world: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Errorf("accepted config fails validation: %v", err)
		}
	})
}
