package toolset_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/search/searchtest"
	"github.com/sleuth-research/sleuth/toolset"
)

// almanac is the example system's one new tool: the year a thing was
// founded, from a table its preset gives as options.
type almanac struct{ years map[string]string }

func (almanac) Name() string { return "almanac" }

func (a almanac) Call(_ context.Context, c agent.Call) (agent.Observation, error) {
	if y, ok := a.years[c.Input]; ok {
		return agent.Observation{Text: c.Input + " was founded in " + y + ".\n"}, nil
	}
	return agent.Observation{Text: "The almanac has nothing on " + c.Input + ".\n"}, nil
}

func newAlmanac(_ *toolset.Env, opts toolset.Options) (agent.Tool, error) {
	var o struct {
		Years map[string]string `yaml:"years"`
	}
	if err := opts.Decode(&o); err != nil {
		return nil, err
	}
	return almanac{years: o.Years}, nil
}

// script plays fixed turns in order, whatever the prompt.
type script struct {
	turns   []string
	prompts []string
}

func (s *script) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	n := len(s.prompts)
	s.prompts = append(s.prompts, req.Prompt)
	if n >= len(s.turns) {
		return llm.Response{}, errors.New("script: no more turns")
	}
	return llm.Response{Choices: []llm.Choice{{Text: s.turns[n], FinishReason: "stop"}}}, nil
}

// TestNewSeedSystem: a seed system made of a preset file and one new tool
// (its type above and its registration line below) loads, runs end to
// end and is scored by the reward its preset names, with nothing else
// changed.
func TestNewSeedSystem(t *testing.T) {
	reg := toolset.New()
	reg.Register("almanac", newAlmanac) // the registration line
	p, err := reg.Load("testdata/almanac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pol := &script{turns: []string{
		"<think>Who runs the observatory?</think>\n<search> Tarsk Observatory </search>",
		`<think>Now its year.</think>` + "\n" + `<tool_call>{"name": "almanac", "arguments": {"query": "Tarsk Observatory"}}</tool_call>`,
		"<answer> 1902 </answer>",
	}}
	passages := searchtest.Words{
		{ID: "p1", Title: "Tarsk Observatory", Text: "Tarsk Observatory stands on the ridge above Varnel."},
		{ID: "p2", Title: "Varnel Labs", Text: "Varnel Labs makes lenses."},
	}
	r, closeTools, err := reg.Runner(p, toolset.Deps{Policy: pol, Retriever: passages})
	if err != nil {
		t.Fatal(err)
	}
	defer closeTools()
	q := "When was Tarsk Observatory founded?"
	ep := r.Run(context.Background(), agent.Question{ID: "q1", Text: q}, 0)
	if ep.Status != agent.Answered || ep.Answer != "1902" {
		t.Fatalf("episode %s (%s), answer %q", ep.Status, ep.Reason, ep.Answer)
	}
	var used []string
	for _, turn := range ep.Turns {
		for _, c := range turn.Calls {
			used = append(used, c.Tool)
		}
	}
	if !slices.Equal(used, []string{"search", "almanac"}) {
		t.Errorf("tools called %v, want search then almanac", used)
	}
	if last := pol.prompts[len(pol.prompts)-1]; !strings.Contains(last, "Tarsk Observatory was founded in 1902.") || !strings.Contains(last, "stands on the ridge") {
		t.Errorf("the last prompt lacks the search or the almanac observation:\n%s", last)
	}
	rc, err := reward.LoadConfig(toolset.RewardName(p))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := rc.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := rf.Score(context.Background(), ep, reward.Gold{Question: q, Answers: []string{"1902"}})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Total != 1 {
		t.Errorf("reward %v, want 1 (exact match)", sc.Total)
	}
}

// TestLoadRefusesUnknownNames: a preset naming a tool the registry lacks,
// or a reward that is no reward preset, fails at load with its file and
// line.
func TestLoadRefusesUnknownNames(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/missing-tool.yaml", `testdata/missing-tool.yaml:5: preset missing: unknown tool "telescope"`},
		{"testdata/missing-reward.yaml", `testdata/missing-reward.yaml:6: preset missing: unknown reward "no-such-reward"`},
	} {
		_, err := toolset.New().Load(tc.file)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to start %q", tc.file, err, tc.want)
		}
	}
	// A registered tool makes the same preset load.
	reg := toolset.New()
	reg.Register("telescope", newAlmanac)
	if _, err := reg.Load("testdata/missing-tool.yaml"); err != nil {
		t.Errorf("with the tool registered: %v", err)
	}
}

// TestRegistryKeyIsToolName: a tool that answers to another name than
// the one it is registered under is refused, and every built-in tool
// answers to its key.
func TestRegistryKeyIsToolName(t *testing.T) {
	reg := toolset.New()
	reg.Register("lookup", newAlmanac) // builds a tool named almanac
	p, err := agent.ParsePreset("x", []byte("tools: [{name: lookup}]\nprompt: '{question}'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Tools(&p, toolset.Deps{}); err == nil || !strings.Contains(err.Error(), `registered as "lookup" calls itself "almanac"`) {
		t.Errorf("mismatched name: %v", err)
	}
	fc, err := fetch.New(fetch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	full := toolset.Deps{Retriever: searchtest.Words{}, Fetcher: fc}
	for _, name := range toolset.New().Names() {
		p := agent.Preset{Name: "all", Tools: []agent.ToolSpec{{Name: name}}}
		tools, closeTools, err := toolset.New().Tools(&p, full)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		closeTools()
		if tools[name] == nil || tools[name].Name() != name {
			t.Errorf("%s builds %v", name, tools)
		}
	}
}

// TestBuiltinPresetsTools: every built-in preset lists its tools, and
// they are the set the command line chose from its mode and tags before
// presets named tools: search unless direct, page search and crop for a
// region action, and browse only when a fetcher is given (--browse) to a
// preset that can browse.
func TestBuiltinPresetsTools(t *testing.T) {
	fc, err := fetch.New(fetch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	corpusOf := searchtest.Words{{ID: "p", Title: "t", Text: "x"}}
	for _, name := range agent.Presets() {
		_, data, err := agent.ReadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains("\n"+string(data), "\ntools:") {
			t.Errorf("%s lists no tools", name)
		}
		p, err := toolset.New().Load(name)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if p.Mode != agent.ModeDirect {
			want = append(want, "search")
		}
		if p.Tags.Region != "" {
			want = append(want, "crop")
		}
		for _, fetcher := range []agent.Fetcher{nil, fc} {
			tools, closeTools, err := toolset.New().Tools(&p, toolset.Deps{Retriever: corpusOf, Fetcher: fetcher})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			closeTools()
			w := want
			if fetcher != nil && p.ToolNames["browse_webpage"] == "browse" {
				w = append(slices.Clone(want), "browse")
			}
			got := make([]string, 0, len(tools))
			for n := range tools {
				got = append(got, n)
			}
			slices.Sort(got)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("%s (fetcher %v): tools %v, want %v", name, fetcher != nil, got, w)
			}
			if _, page := tools["search"].(agent.PageSearchTool); page != (p.Tags.Region != "") {
				t.Errorf("%s: search is %T", name, tools["search"])
			}
		}
		if want, got := toolset.RewardName(p), p.Reward; got != want {
			t.Errorf("%s: reward %q, want %q", name, got, want)
		}
	}
}

// FuzzLoad: any preset YAML loads or fails with an error, never a panic,
// and a preset that loads names only registered tools.
func FuzzLoad(f *testing.F) {
	for _, name := range agent.Presets() {
		_, data, err := agent.ReadPreset(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("tools: [{name: search}, {name: x}]\nprompt: '{question}'\n"))
	f.Add([]byte("tools: [{name: search, options: {pages: [1]}}]\nreward: [a]\nprompt: '{question}'\n"))
	reg := toolset.New()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		p, err := reg.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, tool := range p.Tools {
			if !reg.Has(tool.Name) {
				t.Errorf("loaded with unregistered tool %q", tool.Name)
			}
		}
	})
}

// TestReward: a preset is scored with the reward preset it names (or of
// its own name), else answer F1; an unknown name is an error.
func TestReward(t *testing.T) {
	if rf, err := toolset.Reward(agent.Preset{Name: "rag"}); err != nil || rf != (reward.Answer{}) {
		t.Errorf("rag: %T (%v), want reward.Answer", rf, err)
	}
	for _, p := range []agent.Preset{{Name: "searchr1"}, {Name: "mine", Reward: "searchr1-f1"}} {
		if rf, err := toolset.Reward(p); err != nil || rf == (reward.Answer{}) {
			t.Errorf("%s: %T (%v), want its reward preset", p.Name, rf, err)
		}
	}
	if _, err := toolset.Reward(agent.Preset{Name: "mine", Reward: "no-such-reward"}); err == nil {
		t.Error("an unknown reward loaded")
	}
}

func TestSearchesPages(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{{"vrag", true}, {"searchr1", false}, {"direct", false}} {
		p, err := toolset.New().Load(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := toolset.SearchesPages(p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
