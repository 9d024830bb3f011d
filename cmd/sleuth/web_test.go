package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

func TestWebPagesCmd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "w")
	w, err := world.Generate(world.Config{Seed: 5, Entities: 100, Questions: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		err  string // in the error, when one is wanted
	}{
		{"seed", []string{"pages", "--seed", "5", "--entities", "100", "--questions", "100"}, ""},
		{"world", []string{"pages", "--world", dir}, ""},
		{"both", []string{"pages", "--world", dir, "--seed", "5"}, "not both"},
		{"missing world", []string{"pages", "--world", filepath.Join(dir, "nope")}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := newWebCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var pages, poisoned int
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var p web.PageInfo
				if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
					t.Fatalf("line %d: %v", pages+1, err)
				}
				pages++
				if len(p.Injections) > 0 {
					poisoned++
				}
			}
			if pages < len(w.Entities) || poisoned == 0 {
				t.Errorf("%d pages (%d poisoned), want at least %d with some poisoned", pages, poisoned, len(w.Entities))
			}
		})
	}
}
