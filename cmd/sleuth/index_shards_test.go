package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestShardedIndexCmd builds the same corpus with and without --shards:
// `sleuth search` (which opens --index as any kind) gives the same ids and
// scores from both.
func TestShardedIndexCmd(t *testing.T) {
	dir := t.TempDir()
	words := strings.Fields("bridge tower river city london paris gate golden thames strait north south old new")
	var lines []string
	for i := range 60 {
		text := fmt.Sprintf("%s %s %s %s", words[i%len(words)], words[(i*7)%len(words)], words[(i*3+1)%len(words)], words[(i*5+2)%len(words)])
		lines = append(lines, fmt.Sprintf(`{"id":"p%d","title":"T%d","text":%q}`, i, i, text))
	}
	corpusPath := filepath.Join(dir, "c.jsonl")
	if err := os.WriteFile(corpusPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	qpath := filepath.Join(dir, "q.txt")
	os.WriteFile(qpath, []byte("tower london\nold bridge river\ngolden\n"), 0o644)
	search := func(args ...string) string {
		out := filepath.Join(dir, strings.Join(args, ""))
		if res, err := runCmd(t, append([]string{"index", "--corpus", corpusPath, "--out", out}, args...)...); err != nil {
			t.Fatal(err)
		} else if len(args) > 0 && !strings.Contains(res, "in 3 shards") {
			t.Errorf("index %v printed %q, want it to say the shards", args, res)
		}
		res, err := runCmd(t, "search", "--index", out, "-k", "5", "--fields", "id,score", "--queries", qpath)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if d := cmp.Diff(search(), search("--shards", "3")); d != "" {
		t.Errorf("search results differ (-unsharded +sharded):\n%s", d)
	}
	for _, args := range [][]string{
		{"--to", "es:http://127.0.0.1:1", "--corpus", corpusPath},
		{"--to", "es:http://127.0.0.1:1/wiki", "--shards", "2", "--corpus", corpusPath},
		{"--to", "es:http://127.0.0.1:1/wiki", "--out", dir, "--corpus", corpusPath},
	} {
		if _, err := runCmd(t, append([]string{"index"}, args...)...); err == nil {
			t.Errorf("index %v: no error", args)
		}
	}
}
