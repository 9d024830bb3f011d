package eval

import (
	"github.com/sleuth-research/sleuth/agent"
)

// SuiteRun is a published protocol's sets, found in a data directory, run
// as one resumable evaluation (`sleuth eval --suite`).
type SuiteRun struct {
	Suite Suite
	// Data holds each set and the file found for it ("" when none was:
	// its column of the table stays empty).
	Data []SuiteData
}

// FindSuiteRun loads suite name (a built-in or a YAML file), finds its
// sets under dir, and returns the run, its preset and the questions to
// run (the first limit of each set when limit > 0).
func FindSuiteRun(name, dir string, limit int) (*SuiteRun, agent.Preset, []Question, error) {
	s, err := LoadSuite(name)
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
	return &SuiteRun{Suite: s, Data: data}, p, SuiteQuestions(data), nil
}

// Finish scores results as the suite's table and writes it, with the
// per-set predictions, into the run directory out.
func (sr *SuiteRun) Finish(out string, results []Result) (SuiteTable, error) {
	t, preds := BuildSuiteTable(sr.Suite, sr.Data, results, Bootstrap{})
	return t, WriteSuite(out, t, sr.Data, preds)
}
