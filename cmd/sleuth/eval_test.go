package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/bm25"
)

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// TestEvalHotpotResumeAndCompare: rag over the HotpotQA sample against
// `sleuth serve --model`, interrupted halfway, resumed without redoing
// finished questions, reported, and compared with a second preset.
func TestEvalHotpotResumeAndCompare(t *testing.T) {
	hotpot := shareddata.Path(t, "hotpotqa/dev_distractor_400.jsonl")
	idx := filepath.Join(t.TempDir(), "idx")
	seq := func(yield func(corpus.Passage, error) bool) {
		_, _, err := corpus.ReadAll(context.Background(), []string{hotpot}, corpus.Options{}, func(p corpus.Passage) error {
			if !yield(p, nil) {
				return context.Canceled
			}
			return nil
		})
		if err != nil && err != context.Canceled {
			yield(corpus.Passage{}, err)
		}
	}
	if _, err := bm25.Build(context.Background(), idx, seq, bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	w, _ := worldIndex(t)
	h, closeFn, err := buildServeHandler(serveFlags{model: randomPolicy(t, w)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()

	run := func(ctx context.Context, preset, out string) (string, error) {
		var buf bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&buf)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs([]string{"eval", "--preset", preset, "--data", hotpot, "--limit", "16", "--index", idx, "--llm", srv.URL + "/v1",
			"--out", out, "--concurrency", "2", "--seed", "1", "--llm-retries", "1"})
		err := cmd.ExecuteContext(ctx)
		return buf.String(), err
	}
	out := filepath.Join(t.TempDir(), "rag")
	results := filepath.Join(out, "results.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // interrupt once half the questions are done
		for countLines(t, results) < 8 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := run(ctx, "rag", out); err == nil || !strings.Contains(err.Error(), "rerun to resume") {
		t.Fatalf("interrupted run: err = %v", err)
	}
	half := countLines(t, results)
	if half < 8 || half >= 16 {
		t.Fatalf("%d results after the interruption", half)
	}
	if _, err := run(context.Background(), "rag", out); err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	if n, tr := countLines(t, results), countLines(t, filepath.Join(out, "traces.jsonl")); n != 16 || tr != 16 {
		t.Fatalf("after resuming: %d results and %d traces, want 16 each (nothing redone)", n, tr)
	}
	for _, f := range []string{"summary.json", "report.md", "report.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if keep := os.Getenv("SLEUTH_KEEP_REPORT"); keep != "" { // for looking at the page
		os.WriteFile(keep, b, 0o644)
	}
	if !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "dev_distractor_400") {
		t.Error("report.html lacks its plots or dataset")
	}

	out2 := filepath.Join(t.TempDir(), "direct")
	if _, err := run(context.Background(), "direct", out2); err != nil {
		t.Fatalf("second preset: %v", err)
	}
	var buf bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&buf)
	cmd.SetArgs([]string{"compare", out, out2})
	if err := cmd.Execute(); err != nil || !strings.Contains(buf.String(), "16 questions in both runs") {
		t.Fatalf("compare: %v\n%s", err, buf.String())
	}
	// rag searches once a question, direct never: the behaviour rows say so.
	if !strings.Contains(buf.String(), "behaviour on the shared questions") || !regexp.MustCompile(`searches per question\s+1\.00\s+0\.00\s+-1\.00`).MatchString(buf.String()) {
		t.Errorf("compare lacks the behaviour rows:\n%s", buf.String())
	}
}
