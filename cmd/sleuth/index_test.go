package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/search/bm25"
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

func TestIndexIDsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	os.WriteFile(a, []byte(`{"id":"1","title":"A","text":"alpha"}`+"\n"), 0o644)
	os.WriteFile(b, []byte(`{"id":"1","title":"B","text":"beta"}`+"\n"), 0o644)
	run := func(args ...string) error {
		cmd := newRootCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"index", "--corpus", a, "--corpus", b, "--out", filepath.Join(dir, "idx")}, args...))
		return cmd.Execute()
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), `passage id "1"`) {
		t.Fatalf("colliding ids: err = %v", err)
	}
	if err := run("--prefix-ids"); err != nil {
		t.Fatalf("with --prefix-ids: %v", err)
	}
	ix, err := bm25.Open(filepath.Join(dir, "idx"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	hits, _ := ix.Search(context.Background(), []string{"beta"}, 1)
	if len(hits[0]) != 1 || hits[0][0].Passage.ID != "b:1" {
		t.Errorf("hits %+v", hits)
	}
}
