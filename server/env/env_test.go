package env

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/search"
)

// shelf is a retriever over ten passages: query "qN" returns passages N,
// N+1 and N+2 (mod 10), so two queries can overlap.
type shelf struct{}

func (shelf) Search(_ context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	for i, q := range queries {
		var n int
		if _, err := fmt.Sscanf(q, "q%d", &n); err != nil {
			n = len(q)
		}
		for j := range min(k, 3) {
			id := (n + j) % 10
			out[i] = append(out[i], search.Hit{Passage: corpus.Passage{ID: fmt.Sprint("p", id), Title: fmt.Sprint("Title ", id),
				Text: fmt.Sprint("text of passage ", id)}, Score: float64(3 - j), Rank: j + 1})
		}
	}
	return out, nil
}

// testOpener serves the built-in presets over shelf, with their rewards.
func testOpener(opened *atomic.Int64) Opener {
	return func(name string) (System, func(), error) {
		p, err := agent.LoadPreset(name)
		if err != nil {
			return System{}, nil, err
		}
		rc, err := reward.LoadConfig(name)
		if err != nil {
			return System{}, nil, err
		}
		rf, err := rc.Build(nil)
		if err != nil {
			return System{}, nil, err
		}
		if opened != nil {
			opened.Add(1)
		}
		return System{Runner: &agent.Runner{Preset: p, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: shelf{}}}}, Reward: rf}, func() {}, nil
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	if cfg.Open == nil {
		cfg.Open = testOpener(nil)
	}
	cfg.now = clock.now
	s := New(cfg)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts, clock
}

// do sends body (a value marshalled to JSON, or raw bytes) and decodes
// the answer into out when it is set.
func do(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding the answer: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

type errBody struct {
	Error struct{ Message, Type string } `json:"error"`
}

func TestSessionEpisode(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	var cr CreateResponse
	gold := reward.Gold{Answers: []string{"Paris"}}
	if code := do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "searchr1", Question: "Where?", Gold: gold}, &cr); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	if !strings.Contains(cr.Prompt, "Question: Where?") || !cmp.Equal(cr.Tools, []string{"search"}) || !cr.Created {
		t.Fatalf("create answered %+v", cr)
	}
	base := ts.URL + "/env/sessions/" + cr.Session
	var c1, c2 CallResponse
	do(t, "POST", base+"/call", CallRequest{Tool: "search", Input: "q0"}, &c1)
	do(t, "POST", base+"/call", CallRequest{Tool: "search", Arguments: map[string]any{"query": "q1"}}, &c2)
	// Documents are numbered across the episode, as the runner numbers them.
	if !strings.HasPrefix(c1.Text, "Doc 1(Title: Title 0) text of passage 0\n") || !strings.HasPrefix(c2.Text, "Doc 4(Title: Title 1)") {
		t.Fatalf("observations:\n%s\n%s", c1.Text, c2.Text)
	}
	if c2.Ledger.Searches != 2 || c2.Ledger.ToolCalls != 2 {
		t.Fatalf("ledger %+v", c2.Ledger)
	}
	solution := "<think>look</think><search>q0</search>\n\n<information>" + c1.Text + "</information>\n\n" +
		"<search>q1</search>\n\n<information>" + c2.Text + "</information>\n\n<think>so</think><answer> paris </answer>"
	var sr ScoreResponse
	if code := do(t, "POST", base+"/score", ScoreRequest{Solution: &solution}, &sr); code != http.StatusOK {
		t.Fatalf("score: %d", code)
	}
	want := reward.ScoreAnswer("paris", gold.Answers)
	if sr.Total != want.EM || sr.Answer != "paris" || sr.Status != agent.Answered || sr.Turns != 3 || sr.Ledger.Searches != 2 {
		t.Fatalf("score %+v, want total %v", sr, want.EM)
	}
	if v, ok := sr.Get("answer_em"); !ok || v != 1 {
		t.Fatalf("components %+v", sr.Components)
	}
	// Scoring ends the session.
	var eb errBody
	if code := do(t, "POST", base+"/call", CallRequest{Tool: "search", Input: "q2"}, &eb); code != http.StatusNotFound || eb.Error.Type != "not_found" {
		t.Fatalf("call after score: %d %+v", code, eb)
	}
}

// verl's ToolAgentLoop creates, executes and releases for every tool
// call: a create naming an open session's id must continue that episode.
func TestCreatePerCallKeepsEpisode(t *testing.T) {
	s, ts, _ := newTestServer(t, Config{})
	req := CreateRequest{Preset: "searchr1", ID: "traj-1", Question: "Where?", Gold: reward.Gold{Answers: []string{"x"}}}
	var texts []string
	for i := range 3 {
		var cr CreateResponse
		code := do(t, "POST", ts.URL+"/env/sessions", req, &cr)
		if wantCode := map[bool]int{true: 201, false: 200}[i == 0]; code != wantCode || cr.Session != "traj-1" || cr.Created != (i == 0) {
			t.Fatalf("create %d: %d %+v", i, code, cr)
		}
		var c CallResponse
		do(t, "POST", ts.URL+"/env/sessions/traj-1/call", CallRequest{Tool: "search", Input: fmt.Sprint("q", 3*i)}, &c)
		texts = append(texts, c.Text)
	}
	if !strings.HasPrefix(texts[2], "Doc 7(") || s.Open() != 1 {
		t.Fatalf("third call: %q; %d open", texts[2], s.Open())
	}
	var eb errBody
	if code := do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "deepresearcher", ID: "traj-1", Question: "Q"}, &eb); code != http.StatusConflict {
		t.Fatalf("create with another preset: %d %+v", code, eb)
	}
}

func TestSessionLimitsAndExpiry(t *testing.T) {
	_, ts, clock := newTestServer(t, Config{MaxSessions: 2, TTL: time.Minute})
	create := func() (int, http.Header) {
		body, _ := json.Marshal(CreateRequest{Preset: "searchr1", Question: "Q"})
		resp, err := http.Post(ts.URL+"/env/sessions", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for range 2 {
		if code, _ := create(); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
	}
	code, h := create()
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("third create: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	clock.advance(2 * time.Minute) // both expire
	if code, _ := create(); code != http.StatusCreated {
		t.Fatalf("create after expiry: %d", code)
	}
	var cr CreateResponse
	clock.advance(30 * time.Second)
	do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "searchr1", Question: "Q"}, &cr)
	clock.advance(45 * time.Second) // the first expired, cr's did not: a request refreshes it
	var c CallResponse
	if code := do(t, "POST", ts.URL+"/env/sessions/"+cr.Session+"/call", CallRequest{Tool: "search", Input: "q1"}, &c); code != 200 {
		t.Fatalf("call on a live session: %d", code)
	}
	clock.advance(61 * time.Second)
	var eb errBody
	if code := do(t, "POST", ts.URL+"/env/sessions/"+cr.Session+"/call", CallRequest{Tool: "search", Input: "q1"}, &eb); code != http.StatusNotFound {
		t.Fatalf("call on an expired session: %d", code)
	}
	if code := do(t, "DELETE", ts.URL+"/env/sessions/"+cr.Session, nil, nil); code != http.StatusNotFound {
		t.Fatalf("delete of an expired session: %d", code)
	}
}

func TestBadRequests(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{MaxBody: 1 << 10})
	var cr CreateResponse
	do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "searchr1", Question: "Q", ID: "s1"}, &cr)
	sess := ts.URL + "/env/sessions/s1"
	for _, tc := range []struct {
		name, method, url string
		body              []byte
		code              int
	}{
		{"not json", "POST", ts.URL + "/env/sessions", []byte("{"), 400},
		{"two values", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"searchr1","question":"q"} {}`), 400},
		{"unknown field", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"searchr1","question":"q","topk":3}`), 400},
		{"no question", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"searchr1"}`), 400},
		{"unknown preset", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"nope","question":"q"}`), 400},
		{"pipeline preset", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"mmoa","question":"q"}`), 400},
		{"bad id", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"searchr1","question":"q","id":"a/b"}`), 400},
		{"too big", "POST", ts.URL + "/env/sessions", []byte(`{"preset":"searchr1","question":"` + strings.Repeat("x", 2000) + `"}`), 413},
		{"unknown tool", "POST", sess + "/call", []byte(`{"tool":"browse","input":"http://x"}`), 400},
		{"input and arguments", "POST", sess + "/call", []byte(`{"tool":"search","input":"a","arguments":{"query":"b"}}`), 400},
		{"arguments without query", "POST", sess + "/call", []byte(`{"tool":"search","arguments":{"q":"b"}}`), 400},
		{"query not a string", "POST", sess + "/call", []byte(`{"tool":"search","arguments":{"query":3}}`), 400},
		{"long query", "POST", sess + "/call", []byte(`{"tool":"search","input":"` + strings.Repeat("y", 600) + `"}`), 400},
		{"no session", "POST", ts.URL + "/env/sessions/none/call", []byte(`{"tool":"search","input":"a"}`), 404},
		{"score with two", "POST", sess + "/score", []byte(`{"answer":"a","turns":["b"]}`), 400},
		{"score with gold", "POST", sess + "/score", []byte(`{"answer":"a","gold":{"answers":["a"]}}`), 400},
		{"stateless without gold", "POST", ts.URL + "/env/score", []byte(`{"preset":"searchr1","answer":"a"}`), 400},
		{"no endpoint", "GET", ts.URL + "/env/nothing", nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var eb errBody
			code := do(t, tc.method, tc.url, tc.body, &eb)
			if code != tc.code || eb.Error.Type == "" || eb.Error.Message == "" {
				t.Fatalf("%d %+v, want %d with a JSON error", code, eb, tc.code)
			}
		})
	}
	// The session survived every bad call.
	var c CallResponse
	if code := do(t, "POST", sess+"/call", CallRequest{Tool: "search", Input: "q1"}, &c); code != 200 || !strings.HasPrefix(c.Text, "Doc 1(") {
		t.Fatalf("call after bad ones: %d %q", code, c.Text)
	}
}

func TestBudgetExhausted(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	var cr CreateResponse
	do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "searchr1", Question: "Q"}, &cr)
	url := ts.URL + "/env/sessions/" + cr.Session + "/call"
	for i := range 5 { // searchr1: max_tool_calls 5
		if code := do(t, "POST", url, CallRequest{Tool: "search", Input: fmt.Sprint("q", i)}, nil); code != 200 {
			t.Fatalf("call %d: %d", i, code)
		}
	}
	var eb errBody
	if code := do(t, "POST", url, CallRequest{Tool: "search", Input: "q9"}, &eb); code != http.StatusConflict || eb.Error.Type != "budget_exhausted" {
		t.Fatalf("sixth call: %d %+v", code, eb)
	}
	// The episode may still answer and be scored.
	var sr ScoreResponse
	ans := "x"
	if code := do(t, "POST", ts.URL+"/env/sessions/"+cr.Session+"/score", ScoreRequest{Answer: &ans}, &sr); code != 200 || sr.Status != agent.Answered || sr.Ledger.ToolCalls != 5 {
		t.Fatalf("score: %d %+v", code, sr)
	}
}

// The stateless score of a solution equals the session's, for a preset
// with a format gate (DeepResearcher: -1 for a malformed episode).
func TestStatelessScoreMatchesSession(t *testing.T) {
	_, ts, _ := newTestServer(t, Config{})
	gold := reward.Gold{Question: "Q", Answers: []string{"the Louvre museum"}}
	for _, sol := range []string{
		`<think>a</think><tool_call>{"name":"web_search","arguments":{"query":["q1"]}}</tool_call><tool_response>Doc 1 ...</tool_response><think>b</think><answer>Louvre museum</answer>`,
		`<think>a</think><tool_call>{"name":"web_search"</tool_call><tool_response>oops</tool_response><answer>Louvre</answer>`,
		`<think>no answer at all</think>`,
	} {
		var cr CreateResponse
		do(t, "POST", ts.URL+"/env/sessions", CreateRequest{Preset: "deepresearcher", Question: "Q", Gold: gold}, &cr)
		var a, b ScoreResponse
		do(t, "POST", ts.URL+"/env/sessions/"+cr.Session+"/score", ScoreRequest{Solution: &sol}, &a)
		do(t, "POST", ts.URL+"/env/score", ScoreRequest{Preset: "deepresearcher", Gold: &gold, Solution: &sol}, &b)
		a.Ledger, b.Ledger = agent.Ledger{}, agent.Ledger{}
		if d := cmp.Diff(a, b); d != "" {
			t.Fatalf("%s: session and stateless scores differ (-session +stateless):\n%s", sol, d)
		}
		f1 := reward.ScoreAnswer(a.Answer, gold.Answers).F1
		switch {
		case a.FormatErrors == 0 && a.Status == agent.Answered && a.Total != f1:
			t.Fatalf("%s: total %v, want F1 %v", sol, a.Total, f1)
		case (a.FormatErrors > 0 || a.Status != agent.Answered) && a.Total != -1:
			t.Fatalf("%s: malformed episode scored %v, want -1 (%+v)", sol, a.Total, a)
		}
	}
}

func TestSplitTurns(t *testing.T) {
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"<answer>a</answer>", []string{"<answer>a</answer>"}},
		{"<search>x</search>\n\n<information>Doc 1 <answer>no</answer></information>\n\n<answer>a</answer>", []string{"<search>x</search>\n\n", "\n\n<answer>a</answer>"}},
		{"<search>x</search><tool_response>r</tool_response><answer>a</answer>", []string{"<search>x</search>", "<answer>a</answer>"}},
		{"<search>x</search><information>cut off", []string{"<search>x</search>"}},
		{"", nil},
	} {
		if got := agent.SplitTurns(p, tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("SplitTurns(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTenThousandSessions holds 10,000 open sessions, each having made
// one search, and checks their memory stays under 64 KB each.
func TestTenThousandSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var opened atomic.Int64
	s := New(Config{Open: testOpener(&opened), MaxSessions: 10_000})
	defer s.Close()
	ctx := context.Background()
	if _, err := s.create(ctx, CreateRequest{Preset: "searchr1", Question: "warm up"}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 9_999
	for i := range n {
		cr, err := s.create(ctx, CreateRequest{Preset: "searchr1", Question: fmt.Sprintf("question number %d about something", i)})
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		se := s.lookup(cr.Session)
		if _, err := se.ses.Call(ctx, []agent.Call{{Tool: "search", Input: fmt.Sprint("q", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d sessions open, %.0f bytes of heap each (one search of 3 passages each)", s.Open(), per)
	if s.Open() != 10_000 || opened.Load() != 1 {
		t.Fatalf("%d open, preset opened %d times", s.Open(), opened.Load())
	}
	if per > 64<<10 {
		t.Fatalf("%.0f bytes per session, want at most 64 KB", per)
	}
	if _, err := s.create(ctx, CreateRequest{Preset: "searchr1", Question: "one too many"}); err == nil {
		t.Fatal("the 10,001st session was accepted")
	}
}
