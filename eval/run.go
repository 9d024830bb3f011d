package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/reward"
)

// Result is one question's outcome in a run, one line of results.jsonl.
type Result struct {
	ID         string   `json:"id"`
	Dataset    string   `json:"dataset,omitempty"`
	Question   string   `json:"question"`
	Answers    []string `json:"answers"`
	Hops       int      `json:"hops,omitempty"`
	Prediction string   `json:"prediction"`
	Evidence   []string `json:"evidence,omitempty"`
	EM         float64  `json:"em"`
	F1         float64  `json:"f1"`
	CoverEM    float64  `json:"cover_em"`
	// EvidenceF1 and RetrievalRecall are set when gold passages are known.
	EvidenceF1      *float64           `json:"evidence_f1,omitempty"`
	RetrievalRecall *float64           `json:"retrieval_recall,omitempty"`
	Reward          *reward.Score      `json:"reward,omitempty"`
	Judge           *float64           `json:"judge,omitempty"` // 1 when the LLM judge accepted the answer
	Status          agent.Status       `json:"status"`
	Reason          string             `json:"reason,omitempty"`
	Turns           int                `json:"turns"`
	Tokens          int                `json:"tokens"`
	Searches        int                `json:"searches"`
	Seconds         float64            `json:"seconds"`
	Extra           map[string]float64 `json:"extra,omitempty"`
	// Behaviour is how the agent worked (behaviour.Measure); absent in
	// results written before it was recorded.
	Behaviour *behaviour.Measures `json:"behaviour,omitempty"`
}

// RunOptions configure Run.
type RunOptions struct {
	Out         string        // directory for results.jsonl and traces.jsonl (created)
	Concurrency int           // episodes in flight (default 8)
	Reward      reward.Func   // optional: each episode's reward is recorded too
	Judge       *reward.Judge // optional: an LLM judge's verdict on each answer (Result.Judge)
	Progress    io.Writer     // where the progress bar goes; nil for none
	Bootstrap   Bootstrap     // for the summary
	// Episode are options of every episode's run (agent.WithSeed); the
	// events are Run's own.
	Episode []agent.RunOption
}

const (
	resultsFile = "results.jsonl"
	tracesFile  = "traces.jsonl"
)

// Run answers every question with r, appending each result to
// Out/results.jsonl and its episode to Out/traces.jsonl as soon as it
// finishes. Questions already in results.jsonl are not run again, so a
// killed run resumes where it stopped (a line cut off by the kill is
// dropped). It returns every result, old and new, in question order.
// While it runs it holds Out's lock: a second Run into the same directory,
// from this process or another, fails at once with an error wrapping
// ErrLocked instead of interleaving rows.
func Run(ctx context.Context, r *agent.Runner, qs []Question, opt RunOptions) ([]Result, error) {
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("eval run %s: %w", opt.Out, err)
	}
	lock, err := lockDir(opt.Out)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	done, err := LoadResults(filepath.Join(opt.Out, resultsFile), true)
	if err != nil {
		return nil, err
	}
	have := map[string]Result{}
	for _, res := range done {
		have[res.ID] = res
	}
	var todo []agent.Question
	byID := map[string]Question{}
	for _, q := range qs {
		byID[q.ID] = q
		if _, ok := have[q.ID]; !ok {
			todo = append(todo, agent.Question{ID: q.ID, Text: q.Question})
		}
	}
	resF, err := os.OpenFile(filepath.Join(opt.Out, resultsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("eval run: %w", err)
	}
	defer resF.Close()
	trF, err := os.OpenFile(filepath.Join(opt.Out, tracesFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("eval run: %w", err)
	}
	defer trF.Close()

	var rep *progress.Reporter
	if opt.Progress != nil {
		rep = progress.New(opt.Progress, "evaluating", "questions", int64(len(todo)))
	}
	var mu sync.Mutex
	var writeErr error
	onEvent := func(ev agent.Event) {
		if ev.Done == nil || ev.Done.Status == agent.Cancelled {
			return // a cancelled episode is not finished: a rerun does it again
		}
		res := resultOf(ctx, ev.Done, byID[ev.Done.ID], opt.Reward, opt.Judge)
		mu.Lock()
		defer mu.Unlock()
		have[res.ID] = res
		if writeErr == nil {
			writeErr = appendLine(trF, ev.Done)
		}
		if writeErr == nil {
			writeErr = appendLine(resF, res) // results after traces: a result line means its trace is there
		}
		rep.Add(1)
	}
	r.RunMany(ctx, todo, max(opt.Concurrency, 1), append(slices.Clip(opt.Episode), agent.WithEvents(onEvent))...)
	rep.Finish()
	if writeErr != nil {
		return nil, fmt.Errorf("eval run %s: %w", opt.Out, writeErr)
	}
	out := make([]Result, 0, len(qs))
	for _, q := range qs {
		if res, ok := have[q.ID]; ok {
			out = append(out, res)
		}
	}
	return out, ctx.Err()
}

func appendLine(f *os.File, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return err
}

// resultOf scores one finished episode against its question.
func resultOf(ctx context.Context, ep *agent.Episode, q Question, fn reward.Func, judge *reward.Judge) Result {
	res := Result{ID: ep.ID, Dataset: q.Dataset, Question: q.Question, Answers: q.Answers, Hops: q.Hops, Prediction: ep.Answer,
		Evidence: ep.Evidence, Status: ep.Status, Reason: ep.Reason, Turns: ep.Ledger.Turns, Tokens: ep.Ledger.CompletionTokens,
		Searches: ep.Ledger.Searches, Seconds: ep.Ledger.Wall.Seconds()}
	m := behaviour.Measure(ep)
	res.Behaviour = &m
	as := reward.ScoreAnswer(ep.Answer, q.Answers)
	res.EM, res.F1, res.CoverEM = as.EM, as.F1, as.CoverEM
	if len(q.Supporting) > 0 {
		ev, _ := reward.SetPRF(ep.Evidence, q.Supporting)
		f1 := ev.F1
		res.EvidenceF1 = &f1
		ids := make([]string, len(ep.Retrieved))
		for i, h := range ep.Retrieved {
			ids[i] = h.ID
		}
		rec := reward.RecallAtK(ids, q.Supporting, len(ids))
		res.RetrievalRecall = &rec
	}
	if judge != nil && ep.Status == agent.Answered {
		if ok, err := judge.Verdict(ctx, q.Question, q.Answers, ep.Answer); err == nil {
			v := 0.0
			if ok {
				v = 1
			}
			res.Judge = &v
		} else {
			res.Reason += "; judge: " + err.Error()
		}
	}
	if fn != nil {
		if sc, err := fn.Score(ctx, ep, q.Gold()); err == nil {
			res.Reward = &sc
		} else {
			res.Reason += "; reward: " + err.Error()
		}
	}
	return res
}

// LoadResults reads a results.jsonl. With repair, a final line cut off by
// a kill is dropped from the file so appends continue cleanly; any other
// malformed line is an error naming the line. A missing file is no results.
func LoadResults(path string, repair bool) ([]Result, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results %s: %w", path, err)
	}
	var out []Result
	lines := bytes.Split(data, []byte("\n"))
	// Only newline-terminated lines count: the segment after the last
	// newline is a line cut off mid-write.
	if tail := lines[len(lines)-1]; len(tail) > 0 {
		if !repair {
			return nil, fmt.Errorf("results %s:%d: line cut off (no newline)", path, len(lines))
		}
		if err := os.Truncate(path, int64(len(data)-len(tail))); err != nil {
			return nil, fmt.Errorf("results %s: drop cut-off line %d: %w", path, len(lines), err)
		}
	}
	for i, b := range lines[:len(lines)-1] {
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var r Result
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("results %s:%d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// RunInfo describes a run for its summary.
type RunInfo struct {
	Preset  string    `json:"preset"`
	Model   string    `json:"model"`
	Data    []string  `json:"data"`
	Started time.Time `json:"started"`
	// LeakageGuard is set when web results and fetches went through the
	// leakage guard's deny-list.
	LeakageGuard *LeakageGuard `json:"leakage_guard,omitempty"`
}

// LeakageGuard reports the deny-list a web evaluation ran under and what
// it blocked in this invocation (a resumed run counts its own part only).
type LeakageGuard struct {
	Rules          int   `json:"rules"`
	BlockedResults int64 `json:"blocked_results"` // search hits dropped
	BlockedFetches int64 `json:"blocked_fetches"` // pages the browser was refused
}

func (g *LeakageGuard) String() string {
	return fmt.Sprintf("leakage guard: %d deny rules; %d search results and %d page fetches blocked in this invocation", g.Rules, g.BlockedResults, g.BlockedFetches)
}
