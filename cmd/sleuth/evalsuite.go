package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/guard"
)

// suiteRun is `eval --suite`: a published protocol's sets, found in a
// data directory, run as one resumable evaluation.
type suiteRun struct {
	suite eval.Suite
	data  []eval.SuiteData
}

// loadSuiteRun finds the suite's sets under dir and returns its preset and
// the questions to run (the first limit of each set when limit > 0).
func loadSuiteRun(w io.Writer, name, dir string, limit int) (*suiteRun, agent.Preset, []eval.Question, error) {
	if dir == "" {
		return nil, agent.Preset{}, nil, errors.New("--suite needs --data-dir: the directory holding the sets (see README, \"Compare with the papers\")")
	}
	s, err := eval.LoadSuite(name)
	if err != nil {
		return nil, agent.Preset{}, nil, err
	}
	p, err := s.AgentPreset()
	if err != nil {
		return nil, agent.Preset{}, nil, err
	}
	data, err := s.Find(dir, limit)
	if err != nil {
		return nil, agent.Preset{}, nil, err
	}
	for _, d := range data {
		if d.File == "" {
			fmt.Fprintf(w, "suite %s: set %s not found under %s (tried %v and the merged files %v); its column stays empty\n", s.Name, d.Set.Name, dir, d.Set.Files, s.Merged)
		}
	}
	return &suiteRun{suite: s, data: data}, p, eval.SuiteQuestions(data), nil
}

// finish scores the run as the suite's table, writes it beside the
// report and prints it.
func (sr *suiteRun) finish(w io.Writer, out string, results []eval.Result, quiet bool) (eval.SuiteTable, error) {
	t, preds := eval.BuildSuiteTable(sr.suite, sr.data, results, eval.Bootstrap{})
	if err := eval.WriteSuite(out, t, sr.data, preds); err != nil {
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
	d := guard.DefaultDenyList()
	if file == "" {
		return d, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("deny-list: %w", err)
	}
	extra, err := guard.ParseDenyList(b, file)
	if err != nil {
		return nil, err
	}
	return d.Merge(extra), nil
}

// leakage reports what the guard blocked; nil when no web tool ran under it.
func (f *toolFlags) leakage() *eval.LeakageGuard {
	if f.deny == nil || (f.denied == nil && f.deniedFetch == nil) {
		return nil
	}
	g := &eval.LeakageGuard{Rules: f.deny.Len()}
	if f.denied != nil {
		g.BlockedResults = f.denied.Blocked()
	}
	if f.deniedFetch != nil {
		g.BlockedFetches = f.deniedFetch.Blocked()
	}
	return g
}
