package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// benchAgentResult is what `sleuth bench agent --json` prints.
type benchAgentResult struct {
	Episodes          int     `json:"episodes"`
	TurnsPerEpisode   float64 `json:"turns_per_episode"`
	Concurrency       int     `json:"concurrency"`
	Seconds           float64 `json:"seconds"`
	EpisodesPerSecond float64 `json:"episodes_per_s"`
	// Shares of episode wall time, measured in a separate sequential pass
	// (concurrency 1) so that time spent waiting for a core is not
	// mistaken for orchestration.
	OrchestrationShare float64 `json:"orchestration_share"` // outside retrieval and generation
	RetrievalShare     float64 `json:"retrieval_share"`
	GenerationShare    float64 `json:"generation_share"`
	Failed             int     `json:"failed"`
	GoroutinesBefore   int     `json:"goroutines_before"`
	GoroutinesAfter    int     `json:"goroutines_after"`
}

func newBenchAgentCmd() *cobra.Command {
	var (
		episodes, concurrency, turns int
		jsonOut                      bool
		cpuProfile                   string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Measure the episode runner: episodes/s and the share of time in sleuth's own orchestration",
		Long: `Runs many searchr1 episodes against the BM25 index of a generated world with a
zero-latency scripted policy (it searches turns-1 times, then answers), and
reports episodes per second and how the summed episode time splits between
generation, retrieval and the runner's own orchestration (goal: under 5%).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			res, err := benchAgent(cmd.Context(), episodes, concurrency, turns, cmd)
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d episodes of %.1f turns in %.2fs: %.0f episodes/s (concurrency %d, GOMAXPROCS %d)\n",
				res.Episodes, res.TurnsPerEpisode, res.Seconds, res.EpisodesPerSecond, res.Concurrency, runtime.GOMAXPROCS(0))
			fmt.Fprintf(w, "time share: retrieval %.1f%%, generation %.1f%%, orchestration %.1f%% (goal < 5%%)\n",
				100*res.RetrievalShare, 100*res.GenerationShare, 100*res.OrchestrationShare)
			fmt.Fprintf(w, "failed episodes: %d; goroutines before %d, after %d\n", res.Failed, res.GoroutinesBefore, res.GoroutinesAfter)
			return nil
		},
	}
	cmd.Flags().IntVar(&episodes, "episodes", 10000, "episodes to run")
	cmd.Flags().IntVar(&concurrency, "concurrency", 64, "episodes in flight")
	cmd.Flags().IntVar(&turns, "turns", 4, "policy turns per episode (the last answers)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	return cmd
}

func benchAgent(ctx context.Context, episodes, concurrency, turns int, cmd *cobra.Command) (benchAgentResult, error) {
	res := benchAgentResult{Episodes: episodes, Concurrency: concurrency}
	w, err := world.Generate(world.Config{Seed: 1})
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "sleuth-bench-agent-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if _, err := bm25.Build(ctx, dir, passageSeq(w.Passages), bm25.BuildOptions{}); err != nil {
		return res, err
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		return res, err
	}
	defer ix.Close()
	p, err := agent.LoadPreset("searchr1")
	if err != nil {
		return res, err
	}
	p.Budget.MaxTurns, p.Budget.MaxToolCalls = turns, turns
	qs := make([]agent.Question, episodes)
	for i := range qs {
		q := w.Questions[i%len(w.Questions)]
		qs[i] = agent.Question{ID: fmt.Sprint(i), Text: q.Question}
	}
	r := &agent.Runner{Preset: p, Policy: scriptedPolicy{turns: turns}, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: ix}}}
	runtime.GC()
	res.GoroutinesBefore = runtime.NumGoroutine()
	rep := progress.New(stderr(cmd), "episodes", "episodes", int64(episodes))
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

	// The time split, sequentially: wall = generation + retrieval + ours.
	var llmT, toolT, wall time.Duration
	for _, ep := range r.RunMany(ctx, qs[:min(len(qs), 2000)], 1) {
		llmT += ep.Ledger.LLMTime
		toolT += ep.Ledger.ToolTime
		wall += ep.Ledger.Wall
	}
	if wall > 0 {
		res.RetrievalShare = float64(toolT) / float64(wall)
		res.GenerationShare = float64(llmT) / float64(wall)
		res.OrchestrationShare = 1 - res.RetrievalShare - res.GenerationShare
	}
	return res, nil
}

// scriptedPolicy is a zero-latency policy: it searches with the question
// until turns-1 observations are in its prompt, then answers.
type scriptedPolicy struct{ turns int }

func (s scriptedPolicy) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	seen := strings.Count(req.Prompt, "\n\n<information>")
	q := req.Prompt[strings.LastIndex(req.Prompt[:min(len(req.Prompt), 4096)], "Question: ")+len("Question: "):]
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		q = q[:i]
	}
	text, stop := " <search> "+q+" ", "</search>"
	if seen >= s.turns-1 {
		text, stop = " <answer> unknown ", "</answer>"
	}
	return llm.Response{Choices: []llm.Choice{{Text: text, FinishReason: "stop", StopString: stop}}, Usage: llm.Usage{CompletionTokens: 8}}, nil
}
