// Package nodetest runs the official Node clients in integrations/node
// (the OpenAI SDK, the MCP TypeScript SDK) against sleuth's servers from
// Go tests. A test skips, saying why, when node or the packages are
// missing, unless SLEUTH_NODE_CLIENTS=1 (set by .ci/run once `npm ci`
// has installed them), where a missing client is a failure.
package nodetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Dir is integrations/node in this checkout.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "integrations", "node")
}

// Require returns the node binary, skipping (or failing under
// SLEUTH_NODE_CLIENTS=1) when it or any of pkgs is not installed.
func Require(t testing.TB, pkgs ...string) string {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("SLEUTH_NODE_CLIENTS") == "1" {
			t.Fatalf("%s (SLEUTH_NODE_CLIENTS=1 says it was installed)", msg)
		}
		t.Skipf("%s; install with `cd integrations/node && npm ci` (.ci/run does)", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(Dir(), "node_modules", p, "package.json")); err != nil {
			missing("the npm package " + p + " is not installed in integrations/node")
		}
	}
	return node
}

// Run runs `node script args...` in integrations/node under timeout and
// returns its stdout; it fails the test, showing stderr, when node exits
// non-zero.
func Run(t testing.TB, node string, timeout time.Duration, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = Dir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", script, err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}
