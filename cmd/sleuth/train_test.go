package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/world"
)

// tinyTrain is a training config small enough for unit tests: every phase
// and a checkpoint every step.
const tinyTrain = `seed: 3
world: {count: 2, entities: 60, questions: 80}
top_k: 2
tokenizer: {vocab: 500}
model: {dim: 32, layers: 1, heads: 2, seq_len: 1024}
pretrain: {steps: 3, batch: 4, trace_rows: 2, trace_tokens: 256, trace_from: 1}
sft: {steps: 3, batch: 4, max_hops: 2, read_rows: 1}
rl: {steps: 3, questions: 2, group: 3, min_hops: 1, max_hops: 3}
checkpoint: {every: 1}
`

// trainChildEnv makes the test binary run `sleuth ARGS…` (args joined by
// newlines) and exit, so a test can SIGKILL a real training process.
const trainChildEnv = "SLEUTH_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(trainChildEnv); args != "" {
		root := newRootCmd()
		root.SetArgs(strings.Split(args, "\n"))
		if err := root.ExecuteContext(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "sleuth:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func writeTiny(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(path, []byte(tinyTrain), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// comparableMetrics drops what differs between runs of the same config:
// times and speeds. Everything else must match exactly: rollouts decode
// with model.Deterministic, so a token never depends on how concurrent
// requests were batched.
func comparableMetrics(t *testing.T, path string) []map[string]any {
	t.Helper()
	lines, err := readJSONL[map[string]any](path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range lines {
		delete(m, "tokens_per_s")
		if st, ok := m["rl"].(map[string]any); ok {
			delete(st, "rollout_ns")
			delete(st, "train_ns")
			delete(st, "llm_share")
			delete(st, "env_share")
			if b, ok := st["behaviour"].(map[string]any); ok {
				delete(b, "seconds") // wall time per episode, a timing like rollout_ns
			}
		}
	}
	return lines
}

// TestTrainSmoke runs the whole training command at toy size and checks
// what it leaves: metrics for every step, a report, and policies that ask
// can load; a second run into the same directory without --resume refuses.
func TestTrainSmoke(t *testing.T) {
	cfg := writeTiny(t)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := runCmd(t, "train", "--config", cfg, "--out", out); err != nil {
		t.Fatal(err)
	}
	if n := len(comparableMetrics(t, filepath.Join(out, "metrics.jsonl"))); n != 9 {
		t.Errorf("metrics.jsonl has %d lines, want 9 (3 steps of each phase)", n)
	}
	for _, p := range []string{"sft", "policy"} {
		if _, err := loadLocal(filepath.Join(out, p), "", "", false); err != nil {
			t.Errorf("saved %s policy does not load: %v", p, err)
		}
	}
	samples, err := readJSONL[rl.TraceSample](filepath.Join(out, "samples.jsonl"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("samples.jsonl: %v, %d lines", err, len(samples))
	}
	for _, s := range samples {
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

// TestTrainKilledAndResumedMatches kills a training process with SIGKILL
// in the middle of a phase, resumes it, and compares every step's metrics
// with an uninterrupted run of the same config.
func TestTrainKilledAndResumedMatches(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a training process")
	}
	cfg := writeTiny(t)
	whole := filepath.Join(t.TempDir(), "whole")
	if _, err := runCmd(t, "train", "--config", cfg, "--out", whole); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(t.TempDir(), "killed")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), trainChildEnv+"="+strings.Join([]string{"train", "--config", cfg, "--out", killed}, "\n"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, err := os.ReadFile(filepath.Join(killed, "checkpoints", "CURRENT")); err == nil && strings.HasPrefix(string(b), "sft-000002") {
			break // SFT is underway: pre-training done, a checkpoint mid-phase
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never reached SFT step 2")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, _, err := rl.LoadCheckpoint(filepath.Join(killed, "checkpoints")); err != nil {
		t.Fatalf("after SIGKILL the checkpoint does not load: %v", err)
	}
	if _, err := runCmd(t, "train", "--config", cfg, "--out", killed, "--resume"); err != nil {
		t.Fatal(err)
	}
	want, got := comparableMetrics(t, filepath.Join(whole, "metrics.jsonl")), comparableMetrics(t, filepath.Join(killed, "metrics.jsonl"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed run's metrics differ from the uninterrupted run's (-want +got):\n%s", diff)
	}
	a, _ := os.ReadFile(filepath.Join(whole, "policy", "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(killed, "policy", "model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("final weights differ (%d and %d bytes)", len(a), len(b))
	}
}

func TestTrainConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "rl: {stepz: 3}\n", "line 1: unknown field stepz"},
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseTrainConfig("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "struct {") {
				t.Errorf("error %v, want one naming %q (and no Go types)", err, tc.want)
			}
		})
	}
	for _, name := range []string{"quickstart", "fast", "reading", "progress", "fresh-sft"} {
		if _, err := loadTrainConfig(name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

// FuzzParseTrainConfig: any bytes give a config or an error, never a
// panic, and an accepted config passes its own validation.
func FuzzParseTrainConfig(f *testing.F) {
	f.Add([]byte(tinyTrain))
	f.Add([]byte("rl: {algorithm: ppo, group: 1}\n"))
	f.Add([]byte("model: {dim: 0, heads: 0}\n"))
	f.Add([]byte("world: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseTrainConfig("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Errorf("accepted config fails validation: %v", err)
		}
	})
}

func TestPickByHops(t *testing.T) {
	var mixed, onlyMulti []world.Question
	for i := range 30 {
		q := world.Question{ID: fmt.Sprint(i), Hops: 1 + i%3}
		mixed = append(mixed, q)
		if q.Hops > 1 {
			onlyMulti = append(onlyMulti, q)
		}
	}
	hops := map[string]int{}
	for _, q := range mixed {
		hops[q.ID] = q.Hops
	}
	tests := []struct {
		name   string
		qs     []world.Question
		shares []float64
		want   [3]float64 // share of each hop count in 3,000 draws, ±0.03
	}{
		{"a fifth multi-hop", mixed, []float64{0.8, 0.1, 0.1}, [3]float64{0.8, 0.1, 0.1}},
		{"weights normalised", mixed, []float64{6, 3, 1}, [3]float64{0.6, 0.3, 0.1}},
		{"no three-hop", mixed, []float64{0.5, 0.5, 0}, [3]float64{0.5, 0.5, 0}},
		{"all multi-hop", mixed, []float64{0, 1, 1}, [3]float64{0, 0.5, 0.5}},
		{"no one-hop questions", onlyMulti, []float64{0.8, 0.1, 0.1}, [3]float64{0, 0.5, 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := pickByHops(tc.qs, 3000, tc.shares, rand.New(rand.NewPCG(1, 2)))
			var n [3]float64
			for _, q := range got {
				n[hops[q.ID]-1]++
			}
			for h := range n {
				if f := n[h] / float64(len(got)); math.Abs(f-tc.want[h]) > 0.03 {
					t.Errorf("%d-hop share %.3f, want %.2f", h+1, f, tc.want[h])
				}
			}
		})
	}
	// Two shares draw exactly as the single multi-hop share of earlier
	// runs did: 2-hop when the draw is under the 2-hop share.
	var two []world.Question
	for _, q := range mixed {
		if q.Hops <= 2 {
			two = append(two, q)
		}
	}
	a := pickByHops(two, 50, []float64{0.75, 0.25}, rand.New(rand.NewPCG(3, 4)))
	rng := rand.New(rand.NewPCG(3, 4))
	var one, multi []world.Question
	for _, q := range two {
		if q.Hops == 1 {
			one = append(one, q)
		} else {
			multi = append(multi, q)
		}
	}
	for i := range a {
		pool := one
		if rng.Float64() < 0.25 {
			pool = multi
		}
		if q := pool[rng.IntN(len(pool))]; q.ID != a[i].ID {
			t.Fatalf("draw %d: %s, want %s as a multi-hop share of 0.25 drew", i, a[i].ID, q.ID)
		}
	}
}
