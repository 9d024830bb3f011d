package reward

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config names a composed reward as data, for presets and training
// configs:
//
//	terms:
//	  - kind: answer_f1
//	    gated: true          # counts only when the format is right
//	  - kind: retrieval_ndcg
//	    k: 5
//	    schedule: {kind: linear, from: 0.5, to: 0, start: 0, end: 1000}
//	  - kind: repeat_penalty
//	    per: 0.1
//	format_error: -1         # the score of a malformed episode instead of the gated terms
//	roles:                   # multi-agent split (MMOA-RAG)
//	  - {role: selector, duplicate_evidence: 1}
type Config struct {
	Terms []TermConfig `yaml:"terms"`
	// FormatError, when set, is the total of an episode that is not well
	// formed (see WellFormed) in place of the gated terms (DeepResearcher: -1).
	FormatError *float64      `yaml:"format_error"`
	Roles       []RolePenalty `yaml:"roles"`
	Judge       *JudgeFile    `yaml:"judge"`
}

// JudgeFile is the judge's configuration as a config file gives it.
type JudgeFile struct {
	Model      string `yaml:"model"`
	PromptFile string `yaml:"prompt_file"`
	MaxTokens  int    `yaml:"max_tokens"`
	Cache      string `yaml:"cache"`
}

// TermConfig is one term. Kind is format, answer, evidence, retrieval,
// progress, judge, turn_penalty, repeat_penalty or cost_penalty; answer,
// evidence and retrieval take a metric, given as Metric or as a suffix
// (answer_em, answer_f1, answer_cover_em, evidence_precision,
// evidence_recall, evidence_f1, retrieval_recall, retrieval_ndcg). Weight
// defaults to 1; Schedule, when given, replaces it.
type TermConfig struct {
	Kind     string    `yaml:"kind"`
	Name     string    `yaml:"name"` // label among the components; default Kind
	Metric   string    `yaml:"metric"`
	Weight   *float64  `yaml:"weight"`
	Schedule *Schedule `yaml:"schedule"`
	Gated    bool      `yaml:"gated"`

	K         int     `yaml:"k"`    // retrieval cutoff
	Free      int     `yaml:"free"` // turn_penalty: turns without charge
	Per       float64 `yaml:"per"`  // turn_penalty, repeat_penalty, plan_penalty: charge per unit
	Then      string  `yaml:"then"` // plan_penalty: what joins a plan's steps (default ", then ")
	PerSearch float64 `yaml:"per_search"`
	PerMB     float64 `yaml:"per_mb"`
	PerDollar float64 `yaml:"per_dollar"`
	PerSecond float64 `yaml:"per_second"`
	Idle      float64 `yaml:"idle"`   // progress: charge per search that finds no new supporting passage
	Excess    float64 `yaml:"excess"` // progress: charge per search beyond the number of supporting passages
	// ExcessIfWrong (progress): charge Excess only when the answer is not an exact match.
	ExcessIfWrong bool `yaml:"excess_if_wrong"`
}

// ParseConfig decodes a reward config; unknown fields are errors, so a
// misspelt weight never silently falls back to a default.
func ParseConfig(r io.Reader, name string) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("reward config %s: %w", name, err)
	}
	return c, nil
}

// ParseConfigBytes is ParseConfig over a byte slice.
func ParseConfigBytes(b []byte, name string) (Config, error) {
	return ParseConfig(bytes.NewReader(b), name)
}

// JudgeConfig turns the config's judge section into a JudgeConfig, reading
// the prompt file when one is named.
func (c Config) JudgeConfig() (JudgeConfig, error) {
	if c.Judge == nil {
		return JudgeConfig{}, nil
	}
	jc := JudgeConfig{Model: c.Judge.Model, MaxTokens: c.Judge.MaxTokens, CachePath: c.Judge.Cache}
	if c.Judge.PromptFile != "" {
		p, err := LoadJudgePrompt(c.Judge.PromptFile)
		if err != nil {
			return JudgeConfig{}, err
		}
		jc.Prompt = p
	}
	return jc, nil
}

// NeedsJudge reports whether a term is the LLM judge.
func (c Config) NeedsJudge() bool {
	for _, t := range c.Terms {
		if t.Kind == "judge" {
			return true
		}
	}
	return false
}

// Build composes the configured reward. judge is the Func for judge terms
// (a *Judge built from JudgeConfig); it may be nil when no term needs it.
func (c Config) Build(judge Func) (Func, error) {
	if len(c.Terms) == 0 && c.FormatError == nil {
		return nil, errors.New("reward config: no terms")
	}
	var open, gated []Term
	for i, tc := range c.Terms {
		t, err := tc.term(judge)
		if err != nil {
			return nil, fmt.Errorf("reward config: term %d (%s): %w", i+1, tc.Kind, err)
		}
		if tc.Gated {
			gated = append(gated, t)
		} else {
			open = append(open, t)
		}
	}
	if len(gated) > 0 || c.FormatError != nil {
		g := Gate{Cond: Format{}, Then: Weighted{Terms: gated}}
		if c.FormatError != nil {
			g.Else = *c.FormatError
		}
		open = append(open, Term{Name: "gated", Weight: Const(1), Func: g})
	}
	var f Func = Weighted{Terms: open}
	if len(c.Roles) > 0 {
		for i, r := range c.Roles {
			if r.Role == "" {
				return nil, fmt.Errorf("reward config: roles[%d] has no role", i)
			}
		}
		f = Roles{Shared: f, Penalties: c.Roles}
	}
	return f, nil
}

func (tc TermConfig) term(judge Func) (Term, error) {
	kind, metric := tc.Kind, tc.Metric
	for _, p := range []string{"answer_", "evidence_", "retrieval_"} {
		if s, ok := strings.CutPrefix(kind, p); ok && metric == "" {
			kind, metric = strings.TrimSuffix(p, "_"), s
		}
	}
	w := Const(1)
	if tc.Weight != nil {
		w = Const(*tc.Weight)
	}
	if tc.Schedule != nil {
		if err := tc.Schedule.Validate(); err != nil {
			return Term{}, err
		}
		w = *tc.Schedule
	}
	name := tc.Name
	if name == "" {
		name = tc.Kind
	}
	t := Term{Name: name, Weight: w}
	if err := checkMetric(kind, metric); err != nil {
		return Term{}, err
	}
	switch kind {
	case "format":
		t.Func = Format{}
	case "answer":
		t.Func = Answer{Metric: metric}
	case "evidence":
		t.Func = Evidence{Metric: metric}
	case "retrieval":
		t.Func = Retrieval{K: tc.K, Metric: metric}
	case "progress":
		if tc.Idle < 0 || tc.Excess < 0 {
			return Term{}, fmt.Errorf("progress idle %g, excess %g: a charge is ≥ 0", tc.Idle, tc.Excess)
		}
		if tc.ExcessIfWrong && tc.Excess == 0 {
			return Term{}, errors.New("progress excess_if_wrong needs an excess charge")
		}
		t.Func = Progress{Idle: tc.Idle, Excess: tc.Excess, ExcessIfWrong: tc.ExcessIfWrong}
	case "judge":
		if judge == nil {
			return Term{}, errors.New("the judge needs an LLM client")
		}
		t.Func = judge
	case "turn_penalty":
		t.Func = TurnPenalty{Free: tc.Free, Per: tc.Per}
	case "repeat_penalty":
		t.Func = RepeatPenalty{Per: tc.Per}
	case "plan_penalty":
		if tc.Per < 0 {
			return Term{}, fmt.Errorf("plan_penalty per %g: a charge is ≥ 0", tc.Per)
		}
		t.Func = PlanPenalty{Per: tc.Per, Then: tc.Then}
	case "cost_penalty":
		t.Func = CostPenalty{PerSearch: tc.PerSearch, PerMB: tc.PerMB, PerDollar: tc.PerDollar, PerSecond: tc.PerSecond}
	default:
		return Term{}, fmt.Errorf("unknown kind %q (want format, answer, evidence, retrieval, progress, judge, turn_penalty, repeat_penalty, plan_penalty or cost_penalty)", tc.Kind)
	}
	return t, nil
}

func checkMetric(kind, metric string) error {
	ok := map[string][]string{
		"answer":    {"", MetricEM, MetricF1, MetricCoverEM},
		"evidence":  {"", "precision", "recall", "f1"},
		"retrieval": {"", "recall", "ndcg"},
	}[kind]
	if ok == nil {
		if metric != "" {
			return fmt.Errorf("%s takes no metric (got %q)", kind, metric)
		}
		return nil
	}
	for _, m := range ok {
		if m == metric {
			return nil
		}
	}
	return fmt.Errorf("%s metric %q is not one of %s", kind, metric, strings.Join(ok[1:], ", "))
}

//go:embed presets/*.yaml
var presetFS embed.FS

// Presets lists the built-in reward configs, one per seed system.
func Presets() []string {
	ents, _ := presetFS.ReadDir("presets")
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// LoadConfig returns a built-in reward config by name (see Presets), or
// reads a YAML file when nameOrPath names one.
func LoadConfig(nameOrPath string) (Config, error) {
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") || strings.Contains(nameOrPath, "/") {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return Config{}, fmt.Errorf("reward config: %w", err)
		}
		return ParseConfigBytes(b, nameOrPath)
	}
	b, err := presetFS.ReadFile("presets/" + nameOrPath + ".yaml")
	if err != nil {
		return Config{}, fmt.Errorf("unknown reward preset %q (built in: %s)", nameOrPath, strings.Join(Presets(), ", "))
	}
	return ParseConfigBytes(b, nameOrPath)
}
