package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.jsonl", `{"id": "1", "contents": "one"}`+"\n"+`not json`+"\n")
	b := write("b.jsonl", `{"id": "1", "contents": "uno"}`+"\n")
	c := write("c.jsonl", `{"id": "2", "contents": "two"}`+"\n")
	read := func(files []string, prefix bool) ([]string, int, error) {
		var ids []string
		skipped := 0
		for p, err := range ReadFiles(files, Options{SkipBad: true}, prefix, &skipped) {
			if err != nil {
				return ids, skipped, err
			}
			ids = append(ids, p.ID)
		}
		return ids, skipped, nil
	}
	ids, skipped, err := read([]string{a, c}, false)
	if err != nil || skipped != 1 || !cmp.Equal(ids, []string{"1", "2"}) {
		t.Errorf("a, c: %v, %d skipped (%v)", ids, skipped, err)
	}
	if _, _, err := read([]string{a, b}, false); err == nil || !strings.Contains(err.Error(), "also an id in") {
		t.Errorf("a repeated id across files: %v", err)
	}
	ids, _, err = read([]string{a, b}, true)
	if err != nil || !cmp.Equal(ids, []string{"a:1", "b:1"}) {
		t.Errorf("prefixed: %v (%v)", ids, err)
	}
	if _, _, err := read([]string{filepath.Join(dir, "missing.jsonl")}, false); err == nil {
		t.Error("a missing file read")
	}
}
