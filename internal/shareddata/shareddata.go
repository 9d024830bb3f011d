// Package shareddata locates the project's shared public data
// (../shared/data beside the repository root) for tests and benchmarks, and
// skips a test with a clear message when it is absent.
package shareddata

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared data directory, or "" when there is none. It honours
// $SLEUTH_SHARED_DATA, then looks for ../shared/data beside the directory
// holding go.mod, walking up from the working directory.
func Dir() string {
	if d := os.Getenv("SLEUTH_SHARED_DATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			// bench/ is a nested module; keep walking to the main one.
			if _, err := os.Stat(filepath.Join(d, "..", "go.mod")); err != nil {
				cand := filepath.Join(d, "..", "shared", "data")
				if st, err := os.Stat(cand); err == nil && st.IsDir() {
					return cand
				}
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Path returns the shared file or directory at rel (for example
// "hotpotqa/dev_distractor_400.jsonl"), skipping tb when it is absent.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Skipf("shared data not found (../shared/data beside the repository); skipping test that needs %s", rel)
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("shared data file %s not available: %v", p, err)
	}
	return p
}

// File returns the path of the shared file at rel, or an error naming it
// when there is no shared data directory (the file itself may still be
// missing: callers that can go on without it check).
func File(rel string) (string, error) {
	d := Dir()
	if d == "" {
		return "", fmt.Errorf("shared data not found (../shared/data beside the repository, or $SLEUTH_SHARED_DATA); it holds %s", rel)
	}
	return filepath.Join(d, rel), nil
}
