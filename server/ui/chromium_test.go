package ui

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/internal/nodetest"
)

// TestChromium loads every page in headless Chromium (Debian's package,
// driven by puppeteer-core) while a training run writes: no console
// errors, the curves advance, hostile trace text stays text. Screenshots
// go to $SLEUTH_UI_SCREENSHOTS, or the test's temporary directory.
func TestChromium(t *testing.T) {
	node := nodetest.Require(t, "puppeteer-core")
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("no chromium on PATH (Debian's chromium package; .ci/run installs it)")
	}
	shots := os.Getenv("SLEUTH_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := fixture(t, 30)
	ts := newTestServer(t, dir)

	// The run goes on writing while the browser watches.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// Registered after the fixture's TempDir, so it runs first: the
	// writer stops before the directory is removed, even when the test
	// fails part way.
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for step := 30; ; step++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(150 * time.Millisecond):
				f, err := os.OpenFile(filepath.Join(dir, "train-1", "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					return
				}
				b, _ := json.Marshal(metricLine(step, step%25 == 0))
				f.Write(append(b, '\n'))
				f.Close()
			}
		}
	})
	out := nodetest.Run(t, node, 3*time.Minute, "ui_check.mjs", chromium, ts.URL, "/runs/"+url.PathEscape(`eval-"<i>x<i>`)+"/episodes/0", "/compare?a="+url.QueryEscape(`eval-"<i>x<i>`)+"&b=eval-b", shots)
	cancel()
	wg.Wait()
	var got struct {
		Errors []string `json:"errors"`
		Pages  map[string]struct {
			Status   int     `json:"status"`
			LoadMs   float64 `json:"loadMs"`
			RenderMs float64 `json:"renderMs"`
			Rows     int     `json:"rows"`
		} `json:"pages"`
		Live struct {
			Before, After struct{ Lines, Points, Warnings int }
		} `json:"live"`
		Pwned        any    `json:"pwned"`
		ComparePwned any    `json:"comparePwned"`
		Answer       string `json:"answer"`
		Images       int    `json:"images"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("screenshots in %s; pages %+v; live %+v", shots, got.Pages, got.Live)
	if len(got.Errors) > 0 {
		t.Errorf("browser errors: %q", got.Errors)
	}
	for _, p := range []string{"runs", "training", "episode", "compare"} {
		if got.Pages[p].Status != 200 {
			t.Errorf("%s: status %d", p, got.Pages[p].Status)
		}
	}
	if got.Pages["runs"].Rows != 3 {
		t.Errorf("runs list has %d rows, want 3", got.Pages["runs"].Rows)
	}
	if got.Live.Before.Points < 30 || got.Live.After.Points <= got.Live.Before.Points+2 || got.Live.After.Lines <= got.Live.Before.Lines || got.Live.Before.Warnings < 1 {
		t.Errorf("the curves did not advance while the run wrote: %+v", got.Live)
	}
	if got.Pwned != nil || got.ComparePwned != nil || got.Images != 0 || !strings.Contains(got.Answer, "<script>window.__pwned=1</script>") {
		t.Errorf("hostile text: pwned %v, %d images, answer %q", got.Pwned, got.Images, got.Answer)
	}
}
