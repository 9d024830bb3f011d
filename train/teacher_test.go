package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/world"
)

// teacherRun is a Run with what the teacher and the drills read: the
// preset, a world family of one world, its index and a tokenizer trained
// as a run trains it.
func teacherRun(t *testing.T, preset string) (*Run, *world.World) {
	t.Helper()
	c, err := ParseConfig("test", []byte("world: {count: 1, entities: 80, questions: 120}\ntokenizer: {vocab: 600}\nmodel: {seq_len: 1024}\npreset: "+preset+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Cfg: c, Dir: t.TempDir(), Log: io.Discard}
	if r.preset, err = agent.LoadPreset(preset); err != nil {
		t.Fatal(err)
	}
	r.proto = rl.ProtocolOf(r.preset)
	w, err := world.Generate(world.Config{Seed: 4, Entities: 80, Questions: 120})
	if err != nil {
		t.Fatal(err)
	}
	r.worlds = []*world.World{w}
	if r.tok, err = r.tokenizer(); err != nil {
		t.Fatal(err)
	}
	if r.ix, err = stepIndex(context.Background(), r.Path("index"), w); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ix.Close() })
	return r, w
}

// hashEpisodes writes every segment of eps (role, source, text, token ids)
// to h.
func hashEpisodes(h hash.Hash, eps []*agent.Episode) {
	for _, ep := range eps {
		fmt.Fprintf(h, "%s|%s|%s|%d\n", ep.ID, ep.Status, ep.Answer, ep.FormatErrors)
		for _, s := range ep.Context {
			fmt.Fprintf(h, "%s|%v|%q|%v\n", s.Role, s.Source, s.Text, s.TokenIDs)
		}
	}
}

// TestSearchR1TeacherUnchanged pins the searchr1 teacher's text and tokens
// (the tokenizer, the oracle's episodes through the real runner and
// index, the reading drills) to what they were when the protocol was
// string literals, so that reading it from the preset changed nothing the
// quickstart trains on.
func TestSearchR1TeacherUnchanged(t *testing.T) {
	r, w := teacherRun(t, "searchr1")
	h := sha256.New()
	fmt.Fprintf(h, "vocab %d\n", r.tok.VocabSize())
	for id := range r.tok.VocabSize() {
		fmt.Fprintf(h, "%q ", r.tok.DecodeToken(id))
	}
	qs := chainQuestions(w.Questions, 1, 3)[:24]
	aq := make([]agent.Question, len(qs))
	for i, q := range qs {
		aq[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	or := &agent.Runner{Preset: r.preset, Policy: rl.NewOracle(r.preset, qs, r.tok.Encode, r.tok.Decode), Tools: SearchTools(r.ix)}
	hashEpisodes(h, or.RunMany(context.Background(), aq, 4))
	rows, masks := r.readDrills(w, rand.New(rand.NewPCG(1, 2)), 3, true, 0.5)
	fmt.Fprintf(h, "%v\n%v\n", rows, masks)
	const want = "36ce84fabef940b0b83bb43e62aa22d413b2e934cb6773abd5fefd0154b7b03f"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("searchr1 teacher hash %s, want %s", got, want)
	}
}

// TestTeachersWellFormed plays each preset's teacher on the chain
// questions of a training world through the real runner and index (and
// for DeepResearcher the world's simulated web): at least 95% of its
// episodes must be demonstrations SFT keeps (answered, no format error in
// any role, exact match) that show their protocol's own parts.
func TestTeachersWellFormed(t *testing.T) {
	tests := []struct {
		preset  string
		maxHops int
		// shows checks one episode of question q holds the protocol's parts.
		shows func(ep *agent.Episode, q world.Question) string
	}{
		{"searchr1", 3, func(ep *agent.Episode, _ world.Question) string { return "" }},
		{"imrag", 3, func(ep *agent.Episode, _ world.Question) string {
			for _, s := range ep.Context {
				if s.Role == "refiner" && s.Source == agent.Policy && s.Text != "" {
					return ""
				}
			}
			return "no refiner condensation"
		}},
		{"deepresearcher", 3, deepResearcherShows},
		{"vrag", 3, vragShows},
		{"mmoa", 2, func(ep *agent.Episode, _ world.Question) string {
			if roles := ep.Roles(); len(roles) != 3 {
				return fmt.Sprintf("roles %v, want rewriter, selector and generator", roles)
			}
			if len(ep.Evidence) == 0 {
				return "the selector chose nothing"
			}
			return ""
		}},
		{"arena", 2, func(ep *agent.Episode, _ world.Question) string {
			last := ep.Turns[len(ep.Turns)-1].Action
			if last.Analysis == "" {
				return "no analysis"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			r, w := teacherRun(t, tc.preset)
			qs := chainQuestions(w.Questions, 1, tc.maxHops)
			aq := make([]agent.Question, len(qs))
			answers, byID := map[string][]string{}, map[string]world.Question{}
			for i, q := range qs {
				aq[i] = agent.Question{ID: q.ID, Text: q.Question}
				answers[q.ID], byID[q.ID] = q.Answers, q
			}
			or, closeTools, err := r.teacherRunner(r.preset, qs, r.ix, w)
			if err != nil {
				t.Fatal(err)
			}
			defer closeTools()
			eps := or.RunMany(context.Background(), aq, 8)
			good, bad := 0, 0
			for _, ep := range eps {
				why := tc.shows(ep, byID[ep.ID])
				if !goodDemo(ep, answers[ep.ID]) {
					why = fmt.Sprintf("status %s (%s), %d format errors, answer %q, want %q", ep.Status, ep.Reason, ep.FormatErrors, ep.Answer, answers[ep.ID])
				}
				if why == "" {
					good++
				} else if bad++; bad <= 3 {
					t.Logf("%s: %s", ep.ID, why)
				}
			}
			t.Logf("%s teacher: %d of %d episodes are good demonstrations showing the protocol's parts", tc.preset, good, len(eps))
			if len(eps) < 40 || float64(good) < 0.95*float64(len(eps)) {
				t.Errorf("%d of %d teacher episodes are good demonstrations showing the protocol's parts, want at least 95%% of at least 40", good, len(eps))
			}
		})
	}
}

// vragShows: each hop of q shows one crop whose text (the crop's text
// layer) holds the hop's fact, and the answer is the last turn.
func vragShows(ep *agent.Episode, q world.Question) string {
	var crops []string
	for _, turn := range ep.Turns {
		for _, c := range turn.Calls {
			if c.Tool == agent.ToolCrop {
				crops = append(crops, c.Observation)
			}
		}
	}
	if len(crops) != len(q.Chain) {
		return fmt.Sprintf("%d crops for %d hops", len(crops), len(q.Chain))
	}
	for i, h := range q.Chain {
		if text := strings.Join(strings.Fields(crops[i]), " "); !strings.Contains(text, h.Object) {
			return fmt.Sprintf("hop %d: the crop %q does not show %q", i+1, crops[i], h.Object)
		}
	}
	return ""
}

// deepResearcherShows: the episode web-searches, browses a page of the
// simulated web whose notes state the first hop's fact, and its answer
// turn cites a page it browsed. (A long page hides its facts beyond the
// parts the browser reads; its episodes may miss.)
func deepResearcherShows(ep *agent.Episode, q world.Question) string {
	var searched bool
	var pages []string
	for _, turn := range ep.Turns {
		for _, c := range turn.Calls {
			_, notes, ok := strings.Cut(c.Observation, "Notes:\n- ")
			switch {
			case c.Tool == agent.ToolSearch:
				searched = true
			case c.Tool == agent.ToolBrowse && ok && strings.Contains(notes, q.Chain[0].Object):
				pages = append(pages, c.Input)
			}
		}
	}
	if !searched || len(pages) == 0 {
		return fmt.Sprintf("searched %v, browsed %d pages with notes stating the first hop's fact", searched, len(pages))
	}
	last := ep.Turns[len(ep.Turns)-1].Completion
	for _, u := range pages {
		if strings.Contains(last, u) {
			return ""
		}
	}
	return fmt.Sprintf("the answer turn %q cites none of the pages browsed, %v", last, pages)
}

// TestDemosRefused: SFT keeps only good demonstrations and stops once more
// than 5% of what it has seen was dropped.
func TestDemosRefused(t *testing.T) {
	answers := func(string) []string { return []string{"Oslo"} }
	ep := func(status agent.Status, answer string, formatErrors int) *agent.Episode {
		return &agent.Episode{ID: "q", Status: status, Answer: answer, FormatErrors: formatErrors}
	}
	good := make([]*agent.Episode, 19)
	for i := range good {
		good[i] = ep(agent.Answered, "oslo.", 0)
	}
	var d demos
	kept, dropped, err := d.keep(append(good, ep(agent.Answered, "Bergen", 0)), answers)
	if err != nil || len(kept) != 19 || dropped != 1 {
		t.Fatalf("1 wrong answer in 20: kept %d, dropped %d, err %v; want 19, 1, nil", len(kept), dropped, err)
	}
	for _, bad := range []*agent.Episode{ep(agent.OverBudget, "", 0), ep(agent.Answered, "Oslo", 1), ep(agent.FormatError, "Oslo", 1)} {
		if goodDemo(bad, answers("q")) {
			t.Errorf("%+v: kept, want it dropped", bad)
		}
	}
	if _, _, err := d.keep([]*agent.Episode{ep(agent.OverBudget, "", 0)}, answers); err == nil || !strings.Contains(err.Error(), "2 of 21") {
		t.Errorf("2 bad of 21: err %v, want a refusal counting them", err)
	}
}

// TestRecipeTiny runs recipes end to end on tiny configs: SFT on the
// preset's teacher (nothing dropped), RL on its reward, and the table of
// SFT against RL on the held-out world in recipe.json. IM-RAG's has roles;
// VRAG's pages and crops; DeepResearcher's the simulated web and a browser.
func TestRecipeTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	roles := map[string][]string{"imrag": {agent.MainRole, "refiner"}, "mmoa": {"generator", "rewriter", "selector"}}
	for _, preset := range []string{"imrag", "arena", "mmoa", "vrag", "deepresearcher"} {
		t.Run(preset, func(t *testing.T) {
			out := t.TempDir()
			if err := trainAt("testdata/tiny-"+preset+".yaml", out, false, ""); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, "recipe.json"))
			if err != nil {
				t.Fatal(err)
			}
			var tab RecipeTable
			if err := json.Unmarshal(b, &tab); err != nil {
				t.Fatal(err)
			}
			if tab.SFT.Questions != 4 || tab.RL.Questions != 4 || tab.Reward != preset || tab.Preset != preset {
				t.Errorf("recipe table %+v: want SFT and RL rows of 4 questions on preset and reward %s", tab, preset)
			}
			var got []string
			for _, rs := range tab.Roles {
				got = append(got, rs.Role)
				if rs.Questions != 4 {
					t.Errorf("role %s's row: %+v, want 4 questions", rs.Role, rs)
				}
			}
			if !slices.Equal(got, roles[preset]) {
				t.Errorf("roles' parts %v, want %v", got, roles[preset])
			}
			for _, m := range comparableMetrics(t, filepath.Join(out, "metrics.jsonl")) {
				if m["dropped"] != nil {
					t.Errorf("SFT dropped teacher episodes: %v", m)
				}
			}
		})
	}
}

// TestTokenizerTagsFromPreset: a run's tokenizer holds its preset's tags
// as single tokens, ARENA's included.
func TestTokenizerTagsFromPreset(t *testing.T) {
	r, _ := teacherRun(t, "arena")
	for _, tag := range []string{"<relevance>", "</relevance>", "<analysis>", "</analysis>", "<answer>", "</information>"} {
		if ids := r.tok.Encode(tag); len(ids) != 1 {
			t.Errorf("%s is %d tokens, want 1", tag, len(ids))
		}
	}
}

// TestDemosCountSurvivesResume: a resumed run's refusal counts the steps
// before its checkpoint (their metrics lines), not only its own, and
// forgets the steps after it, which it does again.
func TestDemosCountSurvivesResume(t *testing.T) {
	dir := t.TempDir()
	lines := `{"phase":"sft","step":0,"loss":1,"dropped":2}
{"phase":"sft","step":1,"loss":1}
{"phase":"sft","step":2,"loss":1,"dropped":1}
{"phase":"sft","step":3,"loss":1,"dropped":5}
`
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Run{Dir: dir, state: rl.State{Phase: phaseSFT, Step: 3}}
	r.Cfg.SFT.Batch = 16
	if err := r.openMetrics(); err != nil {
		t.Fatal(err)
	}
	defer r.metrics.Close()
	if r.demos.seen != 48 || r.demos.dropped != 3 {
		t.Errorf("after resuming at SFT step 3: seen %d, dropped %d; want 48, 3", r.demos.seen, r.demos.dropped)
	}
}

func TestShareOf(t *testing.T) {
	paired := func(mean, lo, hi float64) eval.Paired {
		return eval.Paired{Diff: eval.Interval{Mean: mean, Lo: lo, Hi: hi}}
	}
	for _, tc := range []struct {
		name        string
		part, whole eval.Paired
		want        float64 // NaN: no share
	}{
		{"a real gain", paired(0.02, 0, 0.04), paired(0.08, 0.05, 0.11), 0.25},
		{"a real loss", paired(-0.03, -0.05, 0), paired(-0.06, -0.09, -0.02), 0.5},
		{"no gain to share", paired(0.006, -0.002, 0.014), paired(-0.005, -0.02, 0.008), math.NaN()},
	} {
		got := shareOf(tc.part, tc.whole)
		switch {
		case math.IsNaN(tc.want) && got != nil:
			t.Errorf("%s: share %v, want none", tc.name, *got)
		case !math.IsNaN(tc.want) && (got == nil || math.Abs(*got-tc.want) > 1e-12):
			t.Errorf("%s: share %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestGuidedRL: with rl.guide the run's RL steps train on the teacher's
// episode of each question besides the policy's own, which alone make the
// step's statistics.
func TestGuidedRL(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	b, err := os.ReadFile("testdata/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "guided.yaml")
	guided := strings.Replace(string(b), "max_hops: 3}", "max_hops: 3, guide: true}", 1)
	if guided == string(b) {
		t.Fatal("tiny.yaml's rl line changed: the test cannot turn the guide on")
	}
	if err := os.WriteFile(cfg, []byte(guided), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := trainAt(cfg, out, false, ""); err != nil {
		t.Fatal(err)
	}
	steps := 0
	for _, m := range comparableMetrics(t, filepath.Join(out, "metrics.jsonl")) {
		st, ok := m["rl"].(map[string]any)
		if !ok {
			continue
		}
		steps++
		// 2 questions × 3 rollouts of the policy, and 2 teacher episodes.
		if st["episodes"] != 6.0 || st["trained"].(float64) <= 6 {
			t.Errorf("RL step %v: %v episodes, %v trained; want 6 counted and the teacher's trained besides", st["step"], st["episodes"], st["trained"])
		}
	}
	if steps != 3 {
		t.Errorf("%d RL steps logged, want 3", steps)
	}
}
