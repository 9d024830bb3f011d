package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/llm"
)

type llmFlags struct {
	spec, tokenizer, model, chatTemplate string
	tokenIDs                             bool
	// deterministic makes a local model's tokens independent of batching
	// (model.Model.Deterministic); eval sets it so a score does not move
	// with --concurrency.
	deterministic bool
	retries       int
	timeout       time.Duration
}

func (f *llmFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.spec, "llm", "", "policy model: local:PATH (in-process engine) or an OpenAI-compatible base URL such as http://127.0.0.1:8001/v1")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer for a local model (default: tokenizer.json beside it)")
	fl.StringVar(&f.model, "model", "", "model name to send to an OpenAI-compatible server")
	fl.StringVar(&f.chatTemplate, "chat-template", "", "chat template for a local model: qwen2, chatml, llama3")
	fl.BoolVar(&f.tokenIDs, "token-ids", false, "ask the server for token ids (vLLM/SGLang/sleuth return_token_ids)")
	fl.IntVar(&f.retries, "llm-retries", 4, "retries of a failed LLM request (429, 5xx, connection errors); -1 for none")
	fl.DurationVar(&f.timeout, "llm-timeout", 2*time.Minute, "time limit of one LLM request")
}

// open builds the llm.Client the flags name.
func (f *llmFlags) open() (llm.Client, error) {
	switch {
	case f.spec == "":
		return nil, errors.New("--llm is required: local:PATH or an OpenAI-compatible URL")
	case strings.HasPrefix(f.spec, "local:"):
		return loadLocal(strings.TrimPrefix(f.spec, "local:"), f.tokenizer, f.chatTemplate, f.deterministic)
	case strings.HasPrefix(f.spec, "http://") || strings.HasPrefix(f.spec, "https://"):
		return llm.NewHTTP(llm.HTTPConfig{BaseURL: f.spec, Model: f.model, TokenIDs: f.tokenIDs, MaxRetries: f.retries, Timeout: f.timeout, Backoff: 200 * time.Millisecond})
	}
	return nil, fmt.Errorf("--llm %q: want local:PATH or an http(s) URL", f.spec)
}

func newAskCmd() *cobra.Command {
	var (
		lf                 llmFlags
		tf                 toolFlags
		preset             string
		jsonOut, showTrace bool
		traceOut           string
		seed               int64
		questionsFile      string
		concurrency        int
	)
	cmd := &cobra.Command{
		Use:   "ask [QUESTION]",
		Short: "Ask a research agent a question (or a file of them) and show its answer, evidence and reasoning",
		Long: `ask runs one episode of a preset and prints the answer, the passages it rests
on and, with --trace, every turn. With --questions FILE it runs every question
of the file concurrently (one per line in a .txt file, or any question file
sleuth eval reads), appends each episode to --trace-out, prints a summary and
exits non-zero when any episode failed.`,
		Example: `  sleuth ask "Where was the founder of Varnel Labs born?" --preset searchr1 --index /tmp/idx --llm local:policy/
  sleuth ask "…" --preset rag --index /tmp/idx --llm http://127.0.0.1:8001/v1 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (questionsFile != "") {
				return errors.New("give one QUESTION or --questions FILE")
			}
			p, err := loadPreset(preset)
			if err != nil {
				return err
			}
			sys, err := newSystem(p, &lf, &tf)
			if err != nil {
				return err
			}
			defer sys.Close()
			r := sys.Runner
			var opts []agent.RunOption
			if cmd.Flags().Changed("seed") {
				opts = append(opts, agent.WithSeed(seed))
			}
			if questionsFile != "" {
				return askMany(cmd, r, questionsFile, traceOut, concurrency, jsonOut, opts)
			}
			ep := r.Run(cmd.Context(), agent.Question{ID: "ask", Text: args[0]}, 0, opts...)
			if traceOut != "" {
				if err := agent.AppendTrace(traceOut, ep); err != nil {
					return err
				}
			}
			if jsonOut {
				err = writeJSON(cmd.OutOrStdout(), askResult{Answer: ep.Answer, Status: ep.Status, Reason: ep.Reason, Evidence: ep.Grounds(), Queries: ep.Queries, Turns: len(ep.Turns), Episode: traceIf(showTrace, ep)})
			} else {
				ep.WriteText(cmd.OutOrStdout(), showTrace)
			}
			if err == nil && ep.Status != agent.Answered {
				return fmt.Errorf("no answer: %s: %s", ep.Status, ep.Reason)
			}
			return err
		},
	}
	lf.register(cmd)
	tf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&preset, "preset", "searchr1", "preset name ("+strings.Join(agent.Presets(), ", ")+") or a preset YAML file")
	fl.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fl.BoolVar(&showTrace, "trace", false, "show every turn: the policy's reasoning, its searches and what came back")
	fl.StringVar(&traceOut, "trace-out", "", "append the full episode as one JSON line to this file")
	fl.Int64Var(&seed, "seed", 0, "sampling seed")
	fl.StringVar(&questionsFile, "questions", "", "run every question of this file (one per line in .txt, or a question file sleuth eval reads)")
	fl.IntVar(&concurrency, "concurrency", 8, "episodes in flight with --questions")
	return cmd
}

type askResult struct {
	Answer   string              `json:"answer"`
	Status   agent.Status        `json:"status"`
	Reason   string              `json:"reason,omitempty"`
	Evidence []agent.EvidenceRef `json:"evidence"`
	Queries  []string            `json:"queries"`
	Turns    int                 `json:"turns"`
	Episode  *agent.Episode      `json:"episode,omitempty"`
}

func traceIf(on bool, ep *agent.Episode) *agent.Episode {
	if on {
		return ep
	}
	return nil
}

// askMany runs every question of a file and summarises the outcomes.
func askMany(cmd *cobra.Command, r *agent.Runner, path, traceOut string, concurrency int, jsonOut bool, opts []agent.RunOption) error {
	qs, err := eval.LoadAgentQuestions(path)
	if err != nil {
		return err
	}
	rep := progress.New(stderr(cmd), "episodes", "episodes", int64(len(qs)))
	var mu sync.Mutex
	sum := agent.Tally{Statuses: map[agent.Status]int{}}
	var writeErr error
	onEvent := func(ev agent.Event) {
		if ev.Done == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Add(ev.Done)
		if traceOut != "" && writeErr == nil {
			writeErr = agent.AppendTrace(traceOut, ev.Done)
		}
		rep.Add(1)
	}
	eps := r.RunMany(cmd.Context(), qs, concurrency, append(opts, agent.WithEvents(onEvent))...)
	rep.Finish()
	if jsonOut {
		err = writeJSON(cmd.OutOrStdout(), sum)
	} else {
		sum.WriteText(cmd.OutOrStdout())
	}
	if writeErr != nil {
		return writeErr
	}
	if err != nil {
		return err
	}
	if bad := sum.Bad(); bad > 0 {
		return fmt.Errorf("%d of %d episodes failed or were cancelled", bad, len(eps))
	}
	return nil
}
