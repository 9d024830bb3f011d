package reward

import (
	"math"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		ep        func() Score
		total     float64
		wantRoles map[string]float64
	}{
		{name: "deepresearcher ok", yaml: "terms:\n  - {kind: answer_f1, gated: true}\nformat_error: -1\n", total: 1},
		{name: "weighted", yaml: `
terms:
  - kind: answer
    metric: em
  - kind: evidence_f1
    weight: 0.5
  - kind: retrieval
    metric: recall
    k: 3
    schedule: {kind: step, from: 1, points: [{step: 10, value: 0}]}
  - {kind: turn_penalty, free: 2, per: 0.1}
  - {kind: repeat_penalty, per: 0.5}
  - {kind: cost_penalty, per_search: 0.01}
  - {kind: progress, weight: 0.2}
  - {kind: format, name: fmt}
`, total: 1 + 0.25 + 0.5 - 0.2 - 0.5 - 0.03 + 0.2 + 1},
		{name: "idle searches", yaml: "terms: [{kind: progress, idle: 0.25}]\n", total: 1 - 0.25},
		{name: "excess searches", yaml: "terms: [{kind: progress, excess: 0.25}]\n", total: 1 - 0.25},
		{name: "roles", yaml: "terms: [{kind: answer_f1}]\nroles: [{role: selector, duplicate_evidence: 1}]\n", total: 1,
			wantRoles: map[string]float64{"selector": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfigBytes([]byte(tt.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			f, err := c.Build(nil)
			if err != nil {
				t.Fatal(err)
			}
			ep := episode()
			if tt.wantRoles != nil {
				ep = mmoa()
			}
			s := score(t, f, ep, gold)
			if math.Abs(s.Total-tt.total) > 1e-12 {
				t.Errorf("total %v, want %v (%+v)", s.Total, tt.total, s.Components)
			}
			for r, v := range tt.wantRoles {
				if s.Roles[r] != v {
					t.Errorf("role %s: %v, want %v", r, s.Roles[r], v)
				}
			}
		})
	}
	// The DeepResearcher gate on a malformed episode, and the schedule
	// moving the retrieval weight to 0 at step 10.
	c, _ := ParseConfigBytes([]byte("terms:\n  - {kind: answer_f1, gated: true}\nformat_error: -1\n"), "dr.yaml")
	f, _ := c.Build(nil)
	if s := score(t, f, malformed(), gold); s.Total != -1 {
		t.Errorf("malformed episode total %v, want -1", s.Total)
	}
	c, _ = ParseConfigBytes([]byte("terms:\n  - {kind: retrieval_recall, schedule: {kind: step, from: 1, points: [{step: 10, value: 0}]}}\n"), "s.yaml")
	f, _ = c.Build(nil)
	if s0, s10 := score(t, AtStep(f, 0), episode(), gold).Total, score(t, AtStep(f, 10), episode(), gold).Total; s0 != 1 || s10 != 0 {
		t.Errorf("scheduled totals %v at 0 and %v at 10, want 1 and 0", s0, s10)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "terms: [{kind: answer, wieght: 2}]", "field wieght not found"},
		{"unknown kind", "terms: [{kind: bleu}]", `unknown kind "bleu"`},
		{"bad metric", "terms: [{kind: answer_rouge}]", `answer metric "rouge"`},
		{"metric on format", "terms: [{kind: format, metric: f1}]", "format takes no metric"},
		{"judge without client", "terms: [{kind: judge}]", "needs an LLM client"},
		{"bad schedule", "terms: [{kind: progress, schedule: {kind: linear, start: 3, end: 1}}]", "end 1 must be after start 3"},
		{"negative idle charge", "terms: [{kind: progress, idle: -0.1}]", "a charge is ≥ 0"},
		{"negative excess charge", "terms: [{kind: progress, excess: -0.1}]", "a charge is ≥ 0"},
		{"excess_if_wrong alone", "terms: [{kind: progress, excess_if_wrong: true}]", "needs an excess charge"},
		{"negative plan charge", "terms: [{kind: plan_penalty, per: -0.2}]", "a charge is ≥ 0"},
		{"empty", "", "no terms"},
		{"role without name", "terms: [{kind: format}]\nroles: [{format_error: 1}]", "has no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfigBytes([]byte(tt.yaml), "bad.yaml")
			if err == nil {
				_, err = c.Build(nil)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigJudge(t *testing.T) {
	c, err := ParseConfigBytes([]byte("terms: [{kind: judge}]\njudge: {model: m, max_tokens: 8}\n"), "j.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.NeedsJudge() {
		t.Fatal("NeedsJudge false")
	}
	jc, err := c.JudgeConfig()
	if err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(&fakeJudge{}, jc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Build(j)
	if err != nil {
		t.Fatal(err)
	}
	if s := score(t, f, episode(), gold); s.Total != 1 {
		t.Errorf("judge total %v", s.Total)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("terms: [{kind: answer_f1, gated: true}]\nformat_error: -1\n"))
	f.Add([]byte("terms: [{kind: retrieval, k: 3, schedule: {kind: linear, start: 0, end: 10}}]"))
	f.Add([]byte("roles: [{role: a}]\nterms: [{kind: progress}]"))
	f.Add([]byte(": :"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfigBytes(b, "fuzz.yaml")
		if err != nil {
			return
		}
		if fn, err := c.Build(nil); err == nil {
			score(t, AtStep(fn, 5), episode(), gold)
		}
	})
}

func TestPresets(t *testing.T) {
	want := map[string]struct{ good, bad float64 }{
		// good: episode() (EM 1, evidence F1 .5, progress 1, retrieval NDCG
		// over all four passages); bad: malformed().
		"searchr1":          {1, 1},
		"deepresearcher":    {1, -1},
		"searchr1-f1":       {1, -0.5},
		"searchr1-progress": {1 + 1, 0},
		// three searches for two gold passages: one excess search.
		"searchr1-progress-excess": {1 + 1 - 0.1, 0},
		"arena":                    {0.5 + 1 + 0.25*0.5, 0},
		"imrag":                    {1 + 0.5, 1 + 0.5},
		"mmoa":                     {1, 1},
		"vrag":                     {0.2 + 0.3*((1/math.Log2(3)+1/math.Log2(5))/(1+1/math.Log2(3))) + 1, 0.3 * ((1/math.Log2(3) + 1/math.Log2(5)) / (1 + 1/math.Log2(3)))},
	}
	if len(Presets()) != len(want) {
		t.Errorf("presets %v", Presets())
	}
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			c, err := LoadConfig(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := c.Build(nil)
			if err != nil {
				t.Fatal(err)
			}
			w := want[name]
			if got := score(t, f, episode(), gold).Total; math.Abs(got-w.good) > 1e-12 {
				t.Errorf("good episode: %v, want %v", got, w.good)
			}
			if got := score(t, f, malformed(), gold).Total; math.Abs(got-w.bad) > 1e-12 {
				t.Errorf("malformed episode: %v, want %v", got, w.bad)
			}
		})
	}
	if _, err := LoadConfig("nope"); err == nil || !strings.Contains(err.Error(), "built in: arena") {
		t.Errorf("err = %v", err)
	}
}
