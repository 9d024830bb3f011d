// Package headless renders a local HTML file in headless Chromium for
// tests: a report that renders to a non-blank screenshot has no broken
// markup that stops the browser. Tests skip when Chromium is absent
// (.ci/run installs Debian's chromium).
package headless

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Screenshot renders the HTML file page (an absolute or relative path) in
// headless Chromium and fails t unless a screenshot of at least minBytes
// comes out; it returns the screenshot's path. It skips t when no chromium
// is on PATH.
func Screenshot(t testing.TB, page string, minBytes int64) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (.ci/run installs Debian's chromium): rendering not checked")
	}
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "shot.png")
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--window-size=1100,1400", "--screenshot="+shot, "file://"+abs)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	st, err := os.Stat(shot)
	if err != nil || st.Size() < minBytes {
		t.Fatalf("screenshot missing or blank: %v", err)
	}
	return shot
}
