package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// TestSearchR1SuitePrompt: the built-in suite prompts as Search-R1's data
// script does (template "base", question stripped and ended with "?"),
// with top-3 retrieval and its invalid-action message.
func TestSearchR1SuitePrompt(t *testing.T) {
	s, err := LoadSuite("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.AgentPreset()
	if err != nil {
		t.Fatal(err)
	}
	want := "Answer the given question. You must conduct reasoning inside <think> and </think> first every time you get new information. After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query </search> and it will return the top searched results between <information> and </information>. You can search as many times as your want. If you find no further external knowledge needed, you can directly provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: who got the first nobel prize in physics?\n"
	if got := strings.ReplaceAll(p.Prompt, "{question}", "who got the first nobel prize in physics?"); got != want {
		t.Errorf("prompt:\n%q\nwant\n%q", got, want)
	}
	if p.TopK != 3 || p.Budget.MaxToolCalls != 4 || p.Budget.TurnTokens != 500 || !s.QuestionMark {
		t.Errorf("top_k %d, max tool calls %d, turn tokens %d, question mark %v", p.TopK, p.Budget.MaxToolCalls, p.Budget.TurnTokens, s.QuestionMark)
	}
	var names []string
	for _, set := range s.Sets {
		names = append(names, set.Group+"/"+set.Name)
	}
	wantSets := []string{"general/nq", "general/triviaqa", "general/popqa", "multihop/hotpotqa", "multihop/2wikimultihopqa", "multihop/musique", "multihop/bamboogle"}
	if d := cmp.Diff(wantSets, names); d != "" {
		t.Errorf("sets (-want +got):\n%s", d)
	}
}

func TestParseSuiteErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no sets":       "name: x\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\n",
		"bad group":     "name: x\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\nsets: [{name: a, group: g}]\n",
		"twice":         "name: x\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\nsets: [{name: a}, {name: a}]\n",
		"colon":         "name: x\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\nsets: [{name: 'a:b'}]\n",
		"unknown field": "name: x\npresett: {}\nsets: [{name: a}]\n",
		"bad preset":    "name: x\npreset: {name: p, mode: direct, bogus: 1}\nsets: [{name: a}]\n",
		"metric":        "name: x\nmetric: f1\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\nsets: [{name: a}]\n",
	} {
		if _, err := ParseSuite(name, []byte(text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// writeMergedParquet writes rows shaped as Search-R1's merged test.parquet
// (qa_search_test_merge.py over FlashRAG_datasets): FlashRAG's id,
// question and golden_answers kept, verl's columns added, ids starting
// again in each set.
func writeMergedParquet(t *testing.T, path string, rows map[string][][2]string) {
	t.Helper()
	type msg struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	}
	type row struct {
		ID            string   `parquet:"id"`
		Question      string   `parquet:"question"`
		GoldenAnswers []string `parquet:"golden_answers,list"`
		DataSource    string   `parquet:"data_source"`
		Prompt        []msg    `parquet:"prompt,list"`
		Ability       string   `parquet:"ability"`
		RewardModel   struct {
			GroundTruth struct {
				Target []string `parquet:"target,list"`
			} `parquet:"ground_truth"`
			Style string `parquet:"style"`
		} `parquet:"reward_model"`
		ExtraInfo struct {
			Index int64  `parquet:"index"`
			Split string `parquet:"split"`
		} `parquet:"extra_info"`
	}
	var out []row
	for _, src := range []string{"triviaqa", "popqa", "2wikimultihopqa"} {
		for i, qa := range rows[src] {
			r := row{ID: "test_" + itoa(i), Question: qa[0], GoldenAnswers: []string{qa[1]}, DataSource: src, Ability: "fact-reasoning",
				Prompt: []msg{{"user", "Answer the given question. ... Question: " + qa[0] + "\n"}}}
			r.RewardModel.GroundTruth.Target = []string{qa[1]}
			r.RewardModel.Style = "rule"
			r.ExtraInfo.Index, r.ExtraInfo.Split = int64(i), "test"
			out = append(out, r)
		}
	}
	if err := parquet.WriteFile(path, out); err != nil {
		t.Fatal(err)
	}
}

// TestSuiteFindLayouts: sets are found as FlashRAG_datasets lays them out
// (NAME/test.jsonl, NAME/dev.jsonl) and, for sets without a file, in a
// merged Search-R1 test.parquet by data_source; --limit keeps each set's
// first questions; a set found nowhere stays empty.
func TestSuiteFindLayouts(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nq/test.jsonl", `{"id":"test_0","question":"who got the first nobel prize in physics","golden_answers":["Wilhelm Conrad Röntgen"]}
{"id":"test_1","question":"when is the next deadpool movie being released?","golden_answers":["May 18, 2018"]}
{"id":"test_2","question":"q3","golden_answers":["a3"]}
`)
	write("hotpotqa/dev.jsonl", `{"id":"5a7a06935542990198eaf050","question":"Which magazine was started first Arthur's Magazine or First for Women?","golden_answers":["Arthur's Magazine"]}
`)
	writeMergedParquet(t, filepath.Join(dir, "test.parquet"), map[string][][2]string{
		"triviaqa":        {{"Who was the man behind The Chipmunks?", "David Seville"}, {"t2", "x"}, {"t3", "y"}},
		"popqa":           {{"What is George Rankin's occupation?", "politician"}},
		"2wikimultihopqa": {{"Who was born first, A or B", "A"}},
	})
	s, err := LoadSuite("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.Find(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		File      string
		Questions []string
		First     []string
	}
	summary := map[string]got{}
	for _, d := range data {
		g := got{File: strings.TrimPrefix(d.File, dir+string(os.PathSeparator))}
		for _, q := range d.Questions {
			if q.Dataset != d.Set.Name {
				t.Errorf("set %s: question %s has dataset %q", d.Set.Name, q.ID, q.Dataset)
			}
			g.Questions = append(g.Questions, q.ID+" "+q.Question)
		}
		if len(d.Questions) > 0 {
			g.First = d.Questions[0].Answers
		}
		summary[d.Set.Name] = g
	}
	want := map[string]got{
		"nq": {File: "nq/test.jsonl", Questions: []string{"test_0 who got the first nobel prize in physics?", "test_1 when is the next deadpool movie being released?"},
			First: []string{"Wilhelm Conrad Röntgen"}},
		"triviaqa": {File: "test.parquet", Questions: []string{"test_0 Who was the man behind The Chipmunks?", "test_1 t2?"}, First: []string{"David Seville"}},
		"popqa":    {File: "test.parquet", Questions: []string{"test_0 What is George Rankin's occupation?"}, First: []string{"politician"}},
		"hotpotqa": {File: "hotpotqa/dev.jsonl", Questions: []string{"5a7a06935542990198eaf050 Which magazine was started first Arthur's Magazine or First for Women?"},
			First: []string{"Arthur's Magazine"}},
		"2wikimultihopqa": {File: "test.parquet", Questions: []string{"test_0 Who was born first, A or B?"}, First: []string{"A"}},
		"musique":         {},
		"bamboogle":       {},
	}
	if d := cmp.Diff(want, summary); d != "" {
		t.Errorf("found (-want +got):\n%s", d)
	}
	ids := map[string]bool{}
	for _, q := range SuiteQuestions(data) {
		if ids[q.ID] {
			t.Errorf("id %s twice across sets", q.ID)
		}
		ids[q.ID] = true
	}
	if _, err := s.Find(t.TempDir(), 0); err == nil || !strings.Contains(err.Error(), "no set found") {
		t.Errorf("empty dir: err %v", err)
	}
}

// TestSuiteTable: per-set EM over the run's questions (a missing result
// scores 0), group averages weighing each set once, hand-computed.
func TestSuiteTable(t *testing.T) {
	s, err := LoadSuite("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	q := func(id, ans string) Question { return Question{ID: id, Question: id + "?", Answers: []string{ans}} }
	data := []SuiteData{
		{Set: s.Sets[0], File: "nq.jsonl", Questions: []Question{q("1", "Paris"), q("2", "Rome"), q("3", "Oslo"), q("4", "Bern")}},
		{Set: s.Sets[1]}, {Set: s.Sets[2]},
		{Set: s.Sets[3], File: "hotpot.jsonl", Questions: []Question{q("1", "yes"), q("2", "no")}},
		{Set: s.Sets[4]},
		{Set: s.Sets[5], File: "musique.jsonl", Questions: []Question{q("1", "x")}},
		{Set: s.Sets[6]},
	}
	results := []Result{
		{ID: "nq:1", Prediction: "the paris"}, {ID: "nq:2", Prediction: "Rome."}, {ID: "nq:3", Prediction: "Bergen"}, // nq:4 missing
		{ID: "hotpotqa:1", Prediction: "Yes"}, {ID: "hotpotqa:2", Prediction: "yes"},
		{ID: "musique:1", Prediction: "X"},
	}
	table, preds := BuildSuiteTable(s, data, results, Bootstrap{})
	em := map[string]float64{}
	for _, r := range table.Sets {
		em[r.Set] = r.EM.Mean
	}
	for _, a := range table.Averages {
		em["avg:"+a.Name] = a.EM.Mean
	}
	// nq 2/4; hotpotqa 1/2; musique 1; general = nq alone; multi-hop
	// (0.5 + 1)/2; all (0.5 + 0.5 + 1)/3.
	want := map[string]float64{"nq": 0.5, "triviaqa": 0, "popqa": 0, "hotpotqa": 0.5, "2wikimultihopqa": 0, "musique": 1, "bamboogle": 0,
		"avg:general": 0.5, "avg:multihop": 0.75, "avg:all": 2.0 / 3}
	if d := cmp.Diff(want, em); d != "" {
		t.Errorf("EM (-want +got):\n%s", d)
	}
	if a := table.Averages[1]; len(a.Missing) != 2 || a.EM.Lo > a.EM.Mean || a.EM.Hi < a.EM.Mean || a.EM.Hi > 1 {
		t.Errorf("multi-hop average %+v", a)
	}
	if len(preds["nq"]) != 3 || !cmp.Equal(preds["nq"][0], Prediction{ID: "1", Answer: "the paris"}) {
		t.Errorf("nq predictions %+v", preds["nq"])
	}
	md := table.Markdown()
	for _, w := range []string{"| suite searchr1 | NQ | TriviaQA |", "| EM % | 50.0 | – |", "Multi-hop QA (2 of 4 sets)", "| questions | 3/4 |"} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
	dir := t.TempDir()
	if err := WriteSuite(dir, table, data, preds); err != nil {
		t.Fatal(err)
	}
	// The written set and predictions score to the table's figure.
	qs, err := LoadQuestions(filepath.Join(dir, "sets", "nq.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := LoadPredictions(filepath.Join(dir, "predictions", "nq.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if r := ScorePredictions(qs, ps, Bootstrap{}); r.EM != 0.5 || r.EMCI != table.Sets[0].EM {
		t.Errorf("rescored nq: EM %v CI %+v; table %+v", r.EM, r.EMCI, table.Sets[0].EM)
	}
	var back SuiteTable
	b, _ := os.ReadFile(filepath.Join(dir, "suite.json"))
	if err := json.Unmarshal(b, &back); err != nil || len(back.Sets) != 7 {
		t.Errorf("suite.json: %v, %d sets", err, len(back.Sets))
	}
}

// FuzzParseSuite: any suite file parses or fails with an error, never a
// panic, and a parsed one has a name, sets and a preset.
func FuzzParseSuite(f *testing.F) {
	b, err := suiteFiles.ReadFile("suites/searchr1.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("name: x\npreset: {name: p, mode: direct, prompt: 'Q: {question}'}\nsets: [{name: a, group: g}]\ngroups: [{name: g}]\n"))
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		s, err := ParseSuite("fuzz", data)
		if err != nil {
			return
		}
		if s.Name == "" || len(s.Sets) == 0 {
			t.Fatalf("parsed suite without name or sets: %+v", s)
		}
		if _, err := s.AgentPreset(); err != nil {
			t.Fatalf("parsed suite's preset fails later: %v", err)
		}
	})
}
