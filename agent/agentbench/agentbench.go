// Package agentbench measures the episode runner (what `sleuth bench
// agent` reports): episodes/s and the share of time in sleuth's own
// orchestration, with a zero-latency scripted policy over a generated
// world's BM25 index.
package agentbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/toolset"
	"github.com/sleuth-research/sleuth/world"
)

// Report is what Runner measures (`sleuth bench agent --json`).
type Report struct {
	Episodes          int     `json:"episodes"`
	TurnsPerEpisode   float64 `json:"turns_per_episode"`
	Concurrency       int     `json:"concurrency"`
	Seconds           float64 `json:"seconds"`
	EpisodesPerSecond float64 `json:"episodes_per_s"`
	// The time split comes from separate sequential passes: SplitEpisodes
	// episodes run one after another by calling Runner.Run, so that time
	// spent waiting for a core is not mistaken for orchestration. A pass's
	// wall time is the whole loop; retrieval is the time inside tool calls
	// (Ledger.ToolTime: the search tool and the BM25 index), generation the
	// time inside the policy's Generate (Ledger.LLMTime), and orchestration
	// everything else: the runner's own work, its allocations and the
	// garbage collection they cause, and the loop itself. SplitPasses
	// passes run; the figures are the pass with the median orchestration
	// share (a shared machine's noise moves single passes by a point or
	// more), and OrchestrationShares lists every pass's.
	SplitEpisodes       int       `json:"split_episodes"`
	SplitPasses         int       `json:"split_passes"`
	OrchestrationShares []float64 `json:"orchestration_shares"`
	OrchestrationShare  float64   `json:"orchestration_share"` // outside retrieval and generation
	RetrievalShare      float64   `json:"retrieval_share"`
	GenerationShare     float64   `json:"generation_share"`
	// Per episode of the median pass, in microseconds.
	EpisodeMicros       float64 `json:"episode_us"`
	RetrievalMicros     float64 `json:"retrieval_us"`
	GenerationMicros    float64 `json:"generation_us"`
	OrchestrationMicros float64 `json:"orchestration_us"`
	// Heap allocations per episode of the median pass, the whole process
	// counted (the index's own included).
	AllocsPerEpisode float64 `json:"allocs_per_episode"`
	BytesPerEpisode  float64 `json:"bytes_per_episode"`
	Failed           int     `json:"failed"`
	GoroutinesBefore int     `json:"goroutines_before"`
	GoroutinesAfter  int     `json:"goroutines_after"`
}

// Runner runs episodes searchr1 episodes, concurrency in flight, against
// the BM25 index of world 1 with a zero-latency ScriptedPolicy of turns
// turns, and splits the time of sequential passes between retrieval,
// generation and the runner's own orchestration. Progress goes to log
// (nil: none).
func Runner(ctx context.Context, log io.Writer, episodes, concurrency, turns int) (Report, error) {
	if log == nil {
		log = io.Discard
	}
	res := Report{Episodes: episodes, Concurrency: concurrency}
	w, ix, p, done, err := SearchR1(ctx, turns)
	if err != nil {
		return res, err
	}
	defer done()
	qs := make([]agent.Question, episodes)
	for i := range qs {
		q := w.Questions[i%len(w.Questions)]
		qs[i] = agent.Question{ID: fmt.Sprint(i), Text: q.Question}
	}
	r, closeTools, err := toolset.New().Runner(p, toolset.Deps{Policy: ScriptedPolicy{Turns: turns}, Retriever: ix})
	if err != nil {
		return res, err
	}
	defer closeTools()
	runtime.GC()
	res.GoroutinesBefore = runtime.NumGoroutine()
	rep := progress.New(log, "episodes", "episodes", int64(episodes))
	start := time.Now()
	turnsTotal := 0
	const chunk = 1000 // report progress between chunks
	for lo := 0; lo < len(qs); lo += chunk {
		eps := r.RunMany(ctx, qs[lo:min(lo+chunk, len(qs))], concurrency)
		for _, ep := range eps {
			turnsTotal += ep.Ledger.Turns
			if ep.Status != agent.Answered {
				res.Failed++
			}
		}
		rep.Add(len(eps))
	}
	elapsed := time.Since(start)
	rep.Finish()
	time.Sleep(50 * time.Millisecond) // let finished goroutines exit before counting
	res.GoroutinesAfter = runtime.NumGoroutine()
	res.Seconds = elapsed.Seconds()
	res.EpisodesPerSecond = float64(episodes) / elapsed.Seconds()
	res.TurnsPerEpisode = float64(turnsTotal) / float64(episodes)

	const passes = 3
	splits := make([]Report, passes)
	for i := range splits {
		split(ctx, r, qs[:min(len(qs), 2000)], &splits[i])
		res.OrchestrationShares = append(res.OrchestrationShares, splits[i].OrchestrationShare)
	}
	slices.SortFunc(splits, func(a, b Report) int { return cmp.Compare(a.OrchestrationShare, b.OrchestrationShare) })
	m := splits[passes/2]
	res.SplitEpisodes, res.SplitPasses = m.SplitEpisodes, passes
	res.OrchestrationShare, res.RetrievalShare, res.GenerationShare = m.OrchestrationShare, m.RetrievalShare, m.GenerationShare
	res.EpisodeMicros, res.RetrievalMicros, res.GenerationMicros, res.OrchestrationMicros = m.EpisodeMicros, m.RetrievalMicros, m.GenerationMicros, m.OrchestrationMicros
	res.AllocsPerEpisode, res.BytesPerEpisode = m.AllocsPerEpisode, m.BytesPerEpisode
	return res, nil
}

// split runs qs one after another and splits the loop's wall time
// into retrieval, generation and the rest, sleuth's orchestration.
func split(ctx context.Context, r *agent.Runner, qs []agent.Question, res *Report) {
	var llmT, toolT time.Duration
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i, q := range qs {
		ep := r.Run(ctx, q, i)
		llmT += ep.Ledger.LLMTime
		toolT += ep.Ledger.ToolTime
	}
	wall := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(len(qs))
	res.SplitEpisodes = len(qs)
	if wall <= 0 || n == 0 {
		return
	}
	res.RetrievalShare = float64(toolT) / float64(wall)
	res.GenerationShare = float64(llmT) / float64(wall)
	res.OrchestrationShare = 1 - res.RetrievalShare - res.GenerationShare
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
	res.EpisodeMicros, res.RetrievalMicros, res.GenerationMicros = us(wall), us(toolT), us(llmT)
	res.OrchestrationMicros = us(wall - toolT - llmT)
	res.AllocsPerEpisode = float64(after.Mallocs-before.Mallocs) / n
	res.BytesPerEpisode = float64(after.TotalAlloc-before.TotalAlloc) / n
}

// ScriptedPolicy is a zero-latency searchr1 policy: it searches with the
// question until Turns-1 observations are in its prompt, then answers. Its own work
// counts as generation, so it is kept to a few fast scans: a slow script
// would dilute the orchestration share.
type ScriptedPolicy struct{ Turns int }

// Generate writes the next scripted turn.
func (s ScriptedPolicy) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	seen := strings.Count(req.Prompt, "\n\n<information>")
	q := req.Prompt[strings.Index(req.Prompt, "Question: ")+len("Question: "):] // the template's, which precedes the observations
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	text, stop := " <search> "+q+" ", "</search>"
	if seen >= s.Turns-1 {
		text, stop = " <answer> unknown ", "</answer>"
	}
	return llm.Response{Choices: []llm.Choice{{Text: text, FinishReason: "stop", StopString: stop}}, Usage: llm.Usage{CompletionTokens: 8}}, nil
}

// SearchR1 is what the agent benchmarks run over: world 1, its BM25
// index in a temporary directory, and the searchr1 preset with a budget of
// turns; done closes the index and removes it.
func SearchR1(ctx context.Context, turns int) (*world.World, *bm25.Index, agent.Preset, func(), error) {
	w, err := world.Generate(world.Config{Seed: 1})
	if err != nil {
		return nil, nil, agent.Preset{}, nil, err
	}
	dir, err := os.MkdirTemp("", "sleuth-bench-agent-")
	if err != nil {
		return nil, nil, agent.Preset{}, nil, err
	}
	fail := func(err error) (*world.World, *bm25.Index, agent.Preset, func(), error) {
		os.RemoveAll(dir)
		return nil, nil, agent.Preset{}, nil, err
	}
	if _, err := bm25.Build(ctx, dir, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
		return fail(err)
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		return fail(err)
	}
	p, err := toolset.New().Load("searchr1")
	if err != nil {
		ix.Close()
		return fail(err)
	}
	p.Budget.MaxTurns, p.Budget.MaxToolCalls = turns, turns
	return w, ix, p, func() { ix.Close(); os.RemoveAll(dir) }, nil
}

// WriteText prints the report as `sleuth bench agent` shows it.
func (res Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d episodes of %.1f turns in %.2fs: %.0f episodes/s (concurrency %d, GOMAXPROCS %d)\n",
		res.Episodes, res.TurnsPerEpisode, res.Seconds, res.EpisodesPerSecond, res.Concurrency, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "time share (median of %d passes of %d episodes one at a time): retrieval %.1f%%, generation %.1f%%, orchestration %.1f%% (goal < 5%%; passes: %s)\n",
		res.SplitPasses, res.SplitEpisodes, 100*res.RetrievalShare, 100*res.GenerationShare, 100*res.OrchestrationShare, percents(res.OrchestrationShares))
	fmt.Fprintf(w, "per episode: %.1f µs = retrieval %.1f + generation %.1f + orchestration %.1f; %.0f allocations, %.0f bytes (whole process)\n",
		res.EpisodeMicros, res.RetrievalMicros, res.GenerationMicros, res.OrchestrationMicros, res.AllocsPerEpisode, res.BytesPerEpisode)
	fmt.Fprintf(w, "failed episodes: %d; goroutines before %d, after %d\n", res.Failed, res.GoroutinesBefore, res.GoroutinesAfter)
}

// percents formats shares as "4.1%, 4.6%".
func percents(shares []float64) string {
	parts := make([]string, len(shares))
	for i, f := range shares {
		parts[i] = fmt.Sprintf("%.1f%%", 100*f)
	}
	return strings.Join(parts, ", ")
}
