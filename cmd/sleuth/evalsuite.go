package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/guard"
)

// loadSuiteRun finds the suite's sets under dir (eval.FindSuiteRun) and
// says which it did not find.
func loadSuiteRun(w io.Writer, name, dir string, limit int) (*eval.SuiteRun, agent.Preset, []eval.Question, error) {
	if dir == "" {
		return nil, agent.Preset{}, nil, errors.New("--suite needs --data-dir: the directory holding the sets (see README, \"Compare with the papers\")")
	}
	sr, p, qs, err := eval.FindSuiteRun(name, dir, limit)
	if err != nil {
		return nil, agent.Preset{}, nil, err
	}
	for _, d := range sr.Data {
		if d.File == "" {
			fmt.Fprintf(w, "suite %s: set %s not found under %s (tried %v and the merged files %v); its column stays empty\n", sr.Suite.Name, d.Set.Name, dir, d.Set.Files, sr.Suite.Merged)
		}
	}
	return sr, p, qs, nil
}

// finishSuite scores the run as the suite's table, writes it beside the
// report and prints it.
func finishSuite(sr *eval.SuiteRun, w io.Writer, out string, results []eval.Result, quiet bool) (eval.SuiteTable, error) {
	t, err := sr.Finish(out, results)
	if err != nil {
		return t, err
	}
	if !quiet {
		fmt.Fprintf(w, "\n%s", t.Markdown())
		fmt.Fprintf(w, "table: %s; per-set predictions: %s\n", filepath.Join(out, "suite.md"), filepath.Join(out, "predictions"))
	}
	return t, nil
}

// leakageGuard is the deny-list an evaluation runs under: the built-in
// one plus file's rules, or none with off.
func leakageGuard(file string, off bool) (*guard.DenyList, error) {
	if off {
		if file != "" {
			return nil, errors.New("--deny-list and --no-deny-list contradict each other")
		}
		return nil, nil
	}
	return guard.LoadDenyList(file)
}
