package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTrainTinkerMatchesLocal is issue 19's done-when for the remote
// training engine: the same training config run by `sleuth train`
// in-process and with backend: {tinker: URL} against `sleuth serve
// --tinker builtin` on loopback completes, and the two metrics.jsonl agree
// bit for bit but for wall-clock timings: the server runs the same float32
// operations in the same order on the same weights, and the weights the
// rollouts sample from come back exactly.
func TestTrainTinkerMatchesLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice (about half a minute)")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	addr, served := startServe(ctx, t, "serve", "--tinker", "builtin", "--addr", "127.0.0.1:0")
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	cfg, err := os.ReadFile(filepath.Join("testdata", "tinker-train.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	remoteCfg := filepath.Join(dir, "remote.yaml")
	if err := os.WriteFile(remoteCfg, append(cfg, []byte("backend: {tinker: http://"+addr+"}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	local, remote := filepath.Join(dir, "local"), filepath.Join(dir, "remote")
	if out, err := runCmd(t, "train", "--config", filepath.Join("testdata", "tinker-train.yaml"), "--out", local); err != nil {
		t.Fatalf("train in-process: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "train", "--config", remoteCfg, "--out", remote); err != nil {
		t.Fatalf("train on tinker: %v\n%s", err, out)
	}
	want, got := readMetrics(t, local), readMetrics(t, remote)
	if len(want) == 0 {
		t.Fatal("the in-process run wrote no metrics")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("metrics.jsonl differ (-in-process +tinker):\n%s", d)
	}
	if _, err := runCmd(t, "train", "--config", remoteCfg, "--out", remote, "--resume"); err == nil || !strings.Contains(err.Error(), "cannot be resumed") {
		t.Errorf("--resume on backend tinker: got %v, want a clear refusal", err)
	}
}

// timing names the metrics that measure wall-clock time (behaviour's
// seconds is the episodes' mean duration).
var timing = regexp.MustCompile(`_ns$|_per_s$|_share$|^seconds$`)

// readMetrics reads a run's metrics.jsonl without its timings.
func readMetrics(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		dropTimings(m)
		out = append(out, m)
	}
	return out
}

func dropTimings(m map[string]any) {
	for k, v := range m {
		if timing.MatchString(k) {
			delete(m, k)
		} else if sub, ok := v.(map[string]any); ok {
			dropTimings(sub)
		}
	}
}

// startServe runs a sleuth command that serves until ctx ends and returns
// the address it announced on stderr, and its result.
func startServe(ctx context.Context, t *testing.T, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(pw)
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.Close()
		done <- err
	}()
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "sleuth: serving on http://"); ok {
				addrs <- a
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addrs:
		return a, done
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not announce its address")
	}
	return "", nil
}
