package eval

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/agent"
)

//go:embed suites/*.yaml
var suiteFiles embed.FS

// Suite is a published evaluation protocol as data: the preset (prompt,
// protocol, top-k, budgets), the sets and where each is found in a data
// directory, and how the sets are grouped into averages.
type Suite struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Metric is the table's score; "em" (exact match after the SQuAD
	// normalisation, best over the gold answers) is the one there is.
	Metric string `yaml:"metric"`
	// QuestionMark strips each question and ends it with "?" when it does
	// not, as Search-R1's data script does before prompting.
	QuestionMark bool `yaml:"question_mark"`
	// Preset is the agent preset, inline, in the preset file format.
	Preset yaml.Node `yaml:"preset"`
	// Merged lists files, relative to the data directory, holding several
	// sets told apart by their data_source; tried for a set without a file
	// of its own.
	Merged []string     `yaml:"merged"`
	Groups []SuiteGroup `yaml:"groups"`
	Sets   []SuiteSet   `yaml:"sets"`
}

// SuiteGroup is a named average over the sets whose Group is Name.
type SuiteGroup struct {
	Name  string `yaml:"name"`
	Label string `yaml:"label"`
}

// SuiteSet is one question set of a suite.
type SuiteSet struct {
	Name  string `yaml:"name"`
	Label string `yaml:"label"`
	Group string `yaml:"group"`
	// Files are tried in order under the data directory; globs allowed,
	// the first match (in lexical order) of the first pattern that
	// matches is used.
	Files []string `yaml:"files"`
	// DataSource lists the data_source values of this set's rows in a
	// merged file.
	DataSource []string `yaml:"data_source"`
}

// Suites lists the built-in suite names.
func Suites() []string {
	ents, _ := suiteFiles.ReadDir("suites")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// LoadSuite reads a built-in suite by name or a suite YAML file by path.
func LoadSuite(nameOrPath string) (Suite, error) {
	var data []byte
	var err error
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") || strings.ContainsRune(nameOrPath, os.PathSeparator) {
		data, err = os.ReadFile(nameOrPath)
	} else if data, err = suiteFiles.ReadFile("suites/" + nameOrPath + ".yaml"); err != nil {
		return Suite{}, fmt.Errorf("unknown suite %q (built in: %s)", nameOrPath, strings.Join(Suites(), ", "))
	}
	if err != nil {
		return Suite{}, fmt.Errorf("suite %s: %w", nameOrPath, err)
	}
	return ParseSuite(nameOrPath, data)
}

// ParseSuite decodes and checks a suite; unknown fields are errors.
func ParseSuite(name string, data []byte) (Suite, error) {
	var s Suite
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Suite{}, fmt.Errorf("suite %s: %w", name, err)
	}
	if s.Metric == "" {
		s.Metric = "em"
	}
	groups := map[string]bool{}
	for _, g := range s.Groups {
		groups[g.Name] = true
	}
	seen := map[string]bool{}
	switch {
	case s.Name == "":
		return Suite{}, fmt.Errorf("suite %s: no name", name)
	case s.Metric != "em":
		return Suite{}, fmt.Errorf("suite %s: metric %q (only em is known)", name, s.Metric)
	case len(s.Sets) == 0:
		return Suite{}, fmt.Errorf("suite %s: no sets", name)
	}
	for _, set := range s.Sets {
		switch {
		case set.Name == "" || strings.ContainsAny(set.Name, `:/\`):
			return Suite{}, fmt.Errorf("suite %s: set name %q (needs one, without : / \\)", name, set.Name)
		case seen[set.Name]:
			return Suite{}, fmt.Errorf("suite %s: set %s appears twice", name, set.Name)
		case set.Group != "" && !groups[set.Group]:
			return Suite{}, fmt.Errorf("suite %s: set %s is in group %q, which is not among groups", name, set.Name, set.Group)
		}
		seen[set.Name] = true
	}
	if _, err := s.AgentPreset(); err != nil {
		return Suite{}, fmt.Errorf("suite %s: %w", name, err)
	}
	return s, nil
}

// AgentPreset decodes the suite's preset.
func (s Suite) AgentPreset() (agent.Preset, error) {
	if s.Preset.Kind == 0 {
		return agent.Preset{}, fmt.Errorf("no preset")
	}
	b, err := yaml.Marshal(&s.Preset)
	if err != nil {
		return agent.Preset{}, err
	}
	return agent.ParsePreset(s.Name+" preset", b)
}

// SuiteData is one set's questions as found in a data directory.
type SuiteData struct {
	Set       SuiteSet
	File      string     // where they came from ("" when not found)
	Questions []Question // in file order; ids as in the file, Dataset the set's name
}

// Find locates every set of s under dir and loads its questions (the
// first limit of each, in file order, when limit > 0). A set found
// nowhere has no File and no questions; it is an error only when no set
// is found at all.
func (s Suite) Find(dir string, limit int) ([]SuiteData, error) {
	out := make([]SuiteData, len(s.Sets))
	var merged []Question // loaded once, only if a set needs it
	var mergedFile string
	mergedLoaded := false
	found := 0
	for i, set := range s.Sets {
		d := SuiteData{Set: set}
		path, err := firstMatch(dir, set.Files)
		if err != nil {
			return nil, err
		}
		if path != "" {
			if d.Questions, err = LoadQuestions(path); err != nil {
				return nil, fmt.Errorf("suite %s, set %s: %w", s.Name, set.Name, err)
			}
			d.File = path
		} else {
			if !mergedLoaded {
				mergedLoaded = true
				if mergedFile, err = firstMatch(dir, s.Merged); err != nil {
					return nil, err
				}
				if mergedFile != "" {
					if merged, err = LoadQuestions(mergedFile); err != nil {
						return nil, fmt.Errorf("suite %s: %w", s.Name, err)
					}
				}
			}
			for _, q := range merged {
				if slices.Contains(set.DataSource, q.Dataset) {
					d.Questions = append(d.Questions, q)
				}
			}
			if len(d.Questions) > 0 {
				d.File = mergedFile
			}
		}
		if limit > 0 && len(d.Questions) > limit {
			d.Questions = d.Questions[:limit]
		}
		d.Questions = slices.Clone(d.Questions)
		for j := range d.Questions {
			q := &d.Questions[j]
			q.Dataset = set.Name
			if s.QuestionMark {
				q.Question = strings.TrimSpace(q.Question)
				if !strings.HasSuffix(q.Question, "?") {
					q.Question += "?"
				}
			}
		}
		if len(d.Questions) > 0 {
			found++
		}
		out[i] = d
	}
	if found == 0 {
		return nil, fmt.Errorf("suite %s: no set found under %s (see the suite's files: e.g. %s)", s.Name, dir, strings.Join(s.Sets[0].Files, ", "))
	}
	return out, nil
}

// firstMatch is the first existing file of patterns under dir.
func firstMatch(dir string, patterns []string) (string, error) {
	for _, p := range patterns {
		ms, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", fmt.Errorf("suite file pattern %q: %w", p, err)
		}
		slices.Sort(ms)
		for _, m := range ms {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				return m, nil
			}
		}
	}
	return "", nil
}

// SuiteQuestions joins the sets' questions for one Run; ids become
// "set:id" so they stay unique across sets.
func SuiteQuestions(data []SuiteData) []Question {
	var out []Question
	for _, d := range data {
		for _, q := range d.Questions {
			q.ID = d.Set.Name + ":" + q.ID
			out = append(out, q)
		}
	}
	return out
}
