package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/redteam"
)

// redteam --help names and describes every suite; a run with the scripted
// follower prints JSON with one result per suite asked for and writes the
// HTML report.
func TestRedteamCommand(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append([]string{"redteam"}, args...))
		err := cmd.Execute()
		return out.String(), err
	}
	help, err := run("--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range redteam.Suites() {
		if !strings.Contains(help, "  "+s+": "+redteam.Describe(s)) {
			t.Errorf("--help does not document suite %s", s)
		}
	}
	report := filepath.Join(t.TempDir(), "r.html")
	out, err := run("--llm", "follower", "--questions", "2", "--suites", "poison,smuggle", "--json", "--report", report)
	if err != nil {
		t.Fatal(err)
	}
	var rep redteam.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(rep.Suites) != 2 || rep.Suites[0].Name != redteam.SuitePoison || rep.Suites[0].Off.N != 2 || rep.Clean.Off.Count != 2 {
		t.Errorf("report %+v", rep)
	}
	if _, err := run("--llm", "follower", "--suites", "nope"); err == nil {
		t.Error("an unknown suite was accepted")
	}
}

// redteamModel opens every built-in base by its ref, hashes checked, and
// refuses one that is not built in, naming those that are.
func TestRedteamModelBuiltin(t *testing.T) {
	for _, tc := range []struct{ spec, name, err string }{
		{"", "builtin base (examples/base)", ""},
		{"builtin", "builtin base (examples/base)", ""},
		{"builtin:base3", "builtin base (examples/base3)", ""},
		{"builtin:nope", "", "the built-in ones: builtin, builtin:base3"},
	} {
		c, name, err := redteamModel(&llmFlags{spec: tc.spec}, "")
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("--llm %q: %v, want an error with %q", tc.spec, err, tc.err)
		case tc.err == "" && (err != nil || c == nil || name != tc.name):
			t.Errorf("--llm %q: %q, %v; want %q", tc.spec, name, err, tc.name)
		}
	}
}
