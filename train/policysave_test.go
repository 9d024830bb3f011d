package train

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// builtinPolicy copies the embedded base checkpoint into a new directory.
func builtinPolicy(t *testing.T) string {
	t.Helper()
	sub, err := fs.Sub(examples.Base, "base")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHelperPolicySaver is the child of TestPolicySaveSurvivesKill9: it
// saves a real policy (the built-in base) with savePolicy's writer into
// POLICY_SAVER_DIR/policy, over and over, until it is killed.
func TestHelperPolicySaver(t *testing.T) {
	out := os.Getenv("POLICY_SAVER_DIR")
	if out == "" {
		t.Skip("run by TestPolicySaveSurvivesKill9")
	}
	src := builtinPolicy(t)
	m, err := model.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := tokenizer.Load(filepath.Join(src, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		if err := savePolicyDir(filepath.Join(out, "policy"), m, tk.(*tokenizer.BPE)); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(out, "saves"), []byte(strconv.Itoa(n)), 0o644)
	}
}

// kill -9 at five random moments while a policy is being saved again and
// again: each time the policy directory loads as sleuth loads policies,
// and its weights are the whole file.
func TestPolicySaveSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(builtinPolicy(t), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rng := rand.New(rand.NewPCG(22, 5))
	k := kernels.New(1)
	counter := filepath.Join(out, "saves")
	for try := range 5 {
		os.Remove(counter)
		cmd := exec.Command(exe, "-test.run=^TestHelperPolicySaver$")
		cmd.Env = append(os.Environ(), "POLICY_SAVER_DIR="+out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for this child's first save, then kill at a random moment
		// within the next few saves.
		deadline := time.Now().Add(time.Minute)
		for _, err := os.Stat(counter); err != nil && time.Now().Before(deadline); _, err = os.Stat(counter) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		dir := filepath.Join(out, "policy")
		if _, err := LoadPolicy(dir, k); err != nil {
			t.Fatalf("try %d: the policy does not load after kill -9: %v", try, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("try %d: weights after kill -9: %d bytes, want the %d saved (%v)", try, len(got), len(want), err)
		}
		saves, _ := os.ReadFile(counter)
		t.Logf("try %d: killed after %s saves; the policy loads", try, saves)
	}
}
