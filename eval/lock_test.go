package eval

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestRunLockRefusesConcurrentRun: while one Run writes a directory, a
// second Run into it fails at once with a clear error; once the first has
// finished, the second resumes, running only the questions left.
func TestRunLockRefusesConcurrentRun(t *testing.T) {
	dir := t.TempDir()
	qs := []Question{{ID: "a", Question: "alpha?", Answers: []string{"x"}}, {ID: "b", Question: "beta?", Answers: []string{"y"}}}
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	answer := func(string) string { return "<answer> x </answer>" }
	first := &scripted{reply: answer, before: func() {
		once.Do(func() { close(started) })
		<-release
	}}
	r1, err := newTestRunner("direct", first, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), r1, qs[:1], RunOptions{Out: dir, Concurrency: 1})
		done <- err
	}()
	<-started // the first run holds the lock and is mid-episode

	second := &scripted{reply: answer}
	r2, err := newTestRunner("direct", second, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), r2, qs, RunOptions{Out: dir, Concurrency: 1})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("second run while the first writes: err %v, want ErrLocked naming --out", err)
	}
	if second.calls != 0 {
		t.Fatalf("refused run still generated %d times", second.calls)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}
	got, err := Run(context.Background(), r2, qs, RunOptions{Out: dir, Concurrency: 1})
	if err != nil {
		t.Fatalf("resume after the first finished: %v", err)
	}
	if len(got) != 2 || second.calls != 1 {
		t.Fatalf("resume: %d results, %d generations; want 2 results and 1 generation (only b)", len(got), second.calls)
	}
	rs, err := LoadResults(dir+"/"+resultsFile, false)
	if err != nil || len(rs) != 2 {
		t.Fatalf("results.jsonl: %d rows, err %v; want 2", len(rs), err)
	}
}
