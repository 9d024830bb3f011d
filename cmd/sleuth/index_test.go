package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// TestIndexAndSearchCmds builds an index with `sleuth index` and queries
// it with `sleuth search`, including --queries, --fields and --skip-bad.
func TestIndexAndSearchCmds(t *testing.T) {
	dir := t.TempDir()
	corpusPath := filepath.Join(dir, "c.jsonl")
	lines := []string{
		`{"id":"a","title":"Golden Gate","text":"The Golden Gate Bridge spans the strait in San Francisco."}`,
		`{"id":"b","title":"Tower Bridge","text":"Tower Bridge crosses the Thames in London."}`,
		`{"id":"c","title":"Eiffel","text":"The Eiffel Tower is in Paris."}`,
	}
	if err := os.WriteFile(corpusPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "idx")
	res, err := runCmd(t, "index", "--corpus", corpusPath, "--out", out, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum indexSummary
	if err := json.Unmarshal([]byte(res), &sum); err != nil || sum.Passages != 3 {
		t.Fatalf("summary %q: %v", res, err)
	}

	qpath := filepath.Join(dir, "q.txt")
	os.WriteFile(qpath, []byte("tower london\nparis\n"), 0o644)
	res, err = runCmd(t, "search", "--index", out, "-k", "2", "--fields", "id", "--queries", qpath)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"b"},{"id":"c"}]` + "\n" + `[{"id":"c"}]` + "\n"
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("search --queries (-want +got):\n%s", diff)
	}
	res, err = runCmd(t, "search", "--index", out, "--json", "golden", "gate")
	if err != nil || !strings.Contains(res, `"id":"a"`) || !strings.Contains(res, `"score"`) {
		t.Errorf("search --json = %q, %v", res, err)
	}

	// A malformed record stops the build and keeps the old index, unless
	// --skip-bad.
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(lines[0]+"\n{not json\n"+lines[1]+"\n"), 0o644)
	if _, err := runCmd(t, "index", "--corpus", bad, "--out", out); err == nil {
		t.Fatal("index over a malformed record succeeded")
	}
	res, err = runCmd(t, "index", "--corpus", bad, "--out", out, "--skip-bad")
	if err != nil || !strings.Contains(res, "skipped 1") {
		t.Errorf("index --skip-bad = %q, %v", res, err)
	}
}
