package main

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/openai"
)

// suitePolicy is a scripted Search-R1 policy: it searches the question
// once, then answers the gold answer on about half the questions and
// "unknown" on the rest (chosen by a hash of the question).
type suitePolicy struct {
	gold  map[string]string // question text as prompted → first gold answer
	calls atomic.Int64
}

func (p *suitePolicy) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	p.calls.Add(1)
	prompt := req.Prompt
	q := prompt[strings.LastIndex(prompt, "Question: ")+len("Question: "):]
	q = q[:strings.IndexByte(q, '\n')]
	out := "<think> I need to look it up. </think>\n<search> " + q + " </search>"
	if strings.Count(prompt, "<information>") > 1 { // the template names the tag once
		h := fnv.New32a()
		h.Write([]byte(q))
		ans := "unknown"
		if h.Sum32()%2 == 0 {
			ans = p.gold[q]
		}
		out = "<think> Found it. </think>\n<answer> " + ans + " </answer>"
	}
	c := llm.Choice{Text: out, FinishReason: "length"}
	for _, st := range req.Stop {
		if i := strings.Index(out, st); i >= 0 {
			c = llm.Choice{Text: out[:i], FinishReason: "stop", StopString: st}
			break
		}
	}
	return llm.Response{Choices: []llm.Choice{c}, Usage: llm.Usage{PromptTokens: len(prompt) / 4, CompletionTokens: len(c.Text) / 4}}, nil
}

// suiteFixture is the shared data directory and a BM25 index over the
// wiki-18 sample (1,000 passages).
func suiteFixture(tb testing.TB) (dataDir, idx string) {
	tb.Helper()
	shareddata.Path(tb, "qa/searchr1_bamboogle_test.jsonl")
	wiki := shareddata.Path(tb, "corpus/wiki18_sample_1000.jsonl")
	idx = filepath.Join(tb.TempDir(), "idx")
	seq := func(yield func(corpus.Passage, error) bool) {
		_, _, err := corpus.ReadAll(context.Background(), []string{wiki}, corpus.Options{}, func(p corpus.Passage) error {
			if !yield(p, nil) {
				return context.Canceled
			}
			return nil
		})
		if err != nil && err != context.Canceled {
			yield(corpus.Passage{}, err)
		}
	}
	if _, err := bm25.Build(context.Background(), idx, seq, bm25.BuildOptions{}); err != nil {
		tb.Fatal(err)
	}
	return shareddata.Dir(), idx
}

// newSuitePolicy scripts the suite's questions found under dataDir (the
// first limit of each set); the four shared sets must be there.
func newSuitePolicy(tb testing.TB, dataDir string, limit int) *suitePolicy {
	tb.Helper()
	s, err := eval.LoadSuite("searchr1")
	if err != nil {
		tb.Fatal(err)
	}
	data, err := s.Find(dataDir, limit)
	if err != nil {
		tb.Fatal(err)
	}
	pol := &suitePolicy{gold: map[string]string{}}
	found := map[string]bool{}
	for _, d := range data {
		for _, q := range d.Questions {
			pol.gold[q.Question] = q.Answers[0]
		}
		found[d.Set.Name] = d.File != ""
	}
	for _, set := range []string{"nq", "hotpotqa", "musique", "bamboogle"} {
		if !found[set] {
			tb.Fatalf("shared set %s not found under %s", set, dataDir)
		}
	}
	return pol
}

// TestEvalSuiteSearchR1Shared runs `eval --suite searchr1` over the four
// sets in ../shared/data (NQ, HotpotQA, MuSiQue, Bamboogle) against a
// scripted policy behind the OpenAI-compatible server, interrupts it,
// resumes it without redoing a question, and checks that each set's EM
// equals `sleuth score` on the predictions it wrote.
func TestEvalSuiteSearchR1Shared(t *testing.T) {
	const limit = 20
	dataDir, idx := suiteFixture(t)
	pol := newSuitePolicy(t, dataDir, limit)
	srv := httptest.NewServer(openai.New(pol, openai.Config{}))
	defer srv.Close()

	out := filepath.Join(t.TempDir(), "sr1")
	run := func(ctx context.Context) (string, error) {
		var buf bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&buf)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs([]string{"eval", "--suite", "searchr1", "--data-dir", dataDir, "--limit", "20", "--index", idx, "--llm", srv.URL + "/v1",
			"--out", out, "--concurrency", "2", "--llm-retries", "1"})
		err := cmd.ExecuteContext(ctx)
		return buf.String(), err
	}
	results := filepath.Join(out, "results.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // interrupt once about half the questions are done
		for countLines(t, results) < 2*limit {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := run(ctx); err == nil || !strings.Contains(err.Error(), "rerun to resume") {
		t.Fatalf("interrupted run: err = %v", err)
	}
	half := countLines(t, results)
	if half < 2*limit || half >= 4*limit {
		t.Fatalf("%d results after the interruption", half)
	}
	callsBefore := pol.calls.Load()
	text, err := run(context.Background())
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, text)
	}
	if n, tr := countLines(t, results), countLines(t, filepath.Join(out, "traces.jsonl")); n != 4*limit || tr != 4*limit {
		t.Fatalf("after resuming: %d results and %d traces, want %d each (nothing redone)", n, tr, 4*limit)
	}
	if redone := pol.calls.Load() - callsBefore; redone > 2*int64(4*limit-half)+4 { // 2 calls a question, +2 cancelled in flight
		t.Errorf("resume made %d model calls for %d questions left", redone, 4*limit-half)
	}
	for _, w := range []string{"| suite searchr1 | NQ | TriviaQA | PopQA | HotpotQA | 2Wiki | MuSiQue | Bamboogle |", "| questions | 20/20 | 0 | 0 | 20/20 | 0 | 20/20 | 20/20 |",
		"Multi-hop QA (3 of 4 sets)", "searches per question                           1.00"} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	var table eval.SuiteTable
	b, err := os.ReadFile(filepath.Join(out, "suite.json"))
	if err == nil {
		err = json.Unmarshal(b, &table)
	}
	if err != nil {
		t.Fatal(err)
	}
	scored := 0
	for _, row := range table.Sets {
		if row.File == "" {
			continue
		}
		var sb bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&sb)
		cmd.SetArgs([]string{"score", "--data", filepath.Join(out, "sets", row.Set+".jsonl"), "--predictions", filepath.Join(out, "predictions", row.Set+".jsonl"), "--json"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		var rep eval.Report
		if err := json.Unmarshal(sb.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.EM != row.EM.Mean || rep.EMCI.Lo != row.EM.Lo || rep.EMCI.Hi != row.EM.Hi || rep.Questions != limit {
			t.Errorf("%s: suite EM %+v, sleuth score %v %+v over %d questions", row.Set, row.EM, rep.EM, rep.EMCI, rep.Questions)
		}
		if rep.EM <= 0.2 || rep.EM >= 0.8 { // about half answered with the gold
			t.Errorf("%s: EM %v, want about 0.5 from the scripted policy", row.Set, rep.EM)
		}
		scored++
	}
	if scored != 4 {
		t.Errorf("%d sets scored, want 4", scored)
	}
}

// BenchmarkEvalSuite times `eval --suite searchr1` over the four shared
// sets: "loopback" with the scripted policy behind the OpenAI-compatible
// server (250 questions a set, 1,000 in all: the harness's own cost),
// "embedded" with a random from-scratch model in the in-process engine
// (10 a set: it writes every turn to its token limit). Reported as
// seconds per 1,000 questions.
func BenchmarkEvalSuite(b *testing.B) {
	dataDir, idx := suiteFixture(b)
	run := func(b *testing.B, llmSpec string, limit int) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			out := filepath.Join(b.TempDir(), "sr1")
			cmd := newRootCmd()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs([]string{"eval", "--suite", "searchr1", "--data-dir", dataDir, "--limit", strconv.Itoa(limit), "--index", idx, "--llm", llmSpec,
				"--out", out, "--concurrency", "8", "--llm-retries", "1"})
			t0 := time.Now()
			if err := cmd.Execute(); err != nil {
				b.Fatal(err)
			}
			total += time.Since(t0)
		}
		b.ReportMetric(total.Seconds()/float64(b.N)*1000/float64(4*limit), "s/1000q")
	}
	b.Run("loopback", func(b *testing.B) {
		srv := httptest.NewServer(openai.New(newSuitePolicy(b, dataDir, 250), openai.Config{}))
		defer srv.Close()
		run(b, srv.URL+"/v1", 250)
	})
	b.Run("embedded", func(b *testing.B) {
		w, _ := worldIndex(b)
		run(b, "local:"+randomPolicy(b, w), 10)
	})
}
