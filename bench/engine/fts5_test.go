//go:build sqlite_fts5 || fts5

package engine

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

func TestFTS5Match(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b", `"a" OR "b"`},
		{"  NEAR  ", `"NEAR"`},
		{`say "hi"`, `"say" OR """hi"""`},
		{"", ""},
		{"a\x00b", `"a" OR "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fts5Match(tt.in); got != tt.want {
				t.Errorf("fts5Match(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzFTS5Search checks that no query text, however odd, makes FTS5 reject
// the MATCH expression built from it.
func FuzzFTS5Search(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "idx")
	ctx := context.Background()
	if err := (fts5Engine{}).Build(ctx, dir, slices.Values(testPassages())); err != nil {
		f.Fatal(err)
	}
	idx, err := (fts5Engine{}).Open(ctx, dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { idx.Close() })
	for _, s := range []string{"axolotl", `"`, `a" OR "b`, "NOT AND OR NEAR(", "*", "col:x", "^x", "\x00", "\xff\xfe", "-x +y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if _, err := idx.Search(ctx, q, 3); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	})
}
