package train

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/testchild"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/rl"
)

// trainChildEnv makes the test binary train CONFIG into OUT (the value
// is "CONFIG\nOUT") and exit, so a test can SIGKILL a real training
// process.
const trainChildEnv = "SLEUTH_TRAIN_TEST_CHILD"

func TestMain(m *testing.M) {
	testchild.Main(m, trainChildEnv, func(v string) error {
		cfg, out, _ := strings.Cut(v, "\n")
		return trainAt(cfg, out, false, "")
	})
}

// testdata holds tiny.yaml, a config small enough for unit tests.
var testdata = os.DirFS("testdata")

func tinyTrain(t *testing.T) string {
	t.Helper()
	b, err := fs.ReadFile(testdata, "tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// trainAt trains the config file cfg in out as `sleuth train` does
// (resuming with resume) and, with export set, exports the run as a base
// checkpoint there.
func trainAt(cfg, out string, resume bool, export string) error {
	return trainLogged(cfg, out, resume, export, io.Discard)
}

// trainLogged is trainAt with the run's progress and gate lines in log.
func trainLogged(cfg, out string, resume bool, export string, log io.Writer) error {
	c, err := LoadConfig(examples.Training, cfg)
	if err != nil {
		return err
	}
	r := &Run{Cfg: c, Dir: out, Log: log, BuiltinBase: examples.Base}
	defer r.Close()
	if err := r.TrainAll(context.Background(), resume); err != nil {
		return err
	}
	if export != "" {
		return r.ExportBase(export, cfg)
	}
	return nil
}

// loadPolicy checks that dir holds a policy ask and serve can load.
func loadPolicy(dir string) error {
	if _, err := model.Load(dir); err != nil {
		return err
	}
	_, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	return err
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

// TestTrainKilledAndResumedMatches kills a training process with SIGKILL
// in the middle of a phase, resumes it, and compares every step's metrics
// with an uninterrupted run of the same config.
func TestTrainKilledAndResumedMatches(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a training process")
	}
	cfg := tinyVariant(t)
	whole := filepath.Join(t.TempDir(), "whole")
	if err := trainAt(cfg, whole, false, ""); err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(t.TempDir(), "killed")
	cmd := testchild.Command(trainChildEnv, cfg+"\n"+killed)
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
	if err := trainAt(cfg, killed, true, ""); err != nil {
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
