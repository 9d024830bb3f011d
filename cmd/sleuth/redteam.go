package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/redteam"
	"github.com/sleuth-research/sleuth/train"
)

// Model names sleuth redteam knows besides URLs and policy directories.
const (
	redteamBuiltin  = "builtin"  // the embedded base checkpoint (examples/base)
	redteamFollower = "follower" // redteam.Follower, the scripted gullible model
)

func newRedteamCmd() *cobra.Command {
	var (
		lf             llmFlags
		policy, preset string
		guardOn        string
		suites         []string
		seed           int64
		questions      int
		jsonOut        bool
		reportPath     string
		bombLimit      time.Duration
		concurrency    int
	)
	var doc strings.Builder
	for _, s := range redteam.Suites() {
		fmt.Fprintf(&doc, "  %s: %s\n", s, redteam.Describe(s))
	}
	cmd := &cobra.Command{
		Use:   "redteam",
		Short: "Measure what hostile input does to an agent: attack success per suite, guard off and on",
		Long: `redteam runs a preset and a model against attack suites built over a small
synthetic world (300 entities, the quickstart's size) and the simulated web, and prints each
suite's attack success rate (successes of N, with a 95% Wilson interval) with the guard off and
on, beside the agent's exact match on the same questions without any attack, so the guard's
cost shows. Episodes are greedy and every attack is drawn from --seed: the same seed gives the
same JSON.

The model: --llm builtin (the default: the embedded base checkpoint examples/base;
builtin:base3 the quickstart's), --policy DIR (a policy sleuth train or quickstart wrote, run as the quickstart evaluates
it), --llm URL (any OpenAI-compatible server), or --llm follower (a scripted model that obeys
every instruction it reads and knows every answer: the worst case, to calibrate the suites;
it speaks the tag protocol of searchr1-style presets).

Suites (--suites, default all):
` + doc.String(),
		Example: `  sleuth redteam --questions 10 --seed 1
  sleuth redteam --llm follower --json
  sleuth redteam --llm http://127.0.0.1:8001/v1 --model qwen --preset searchr1 --report redteam.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := loadPreset(preset)
			if err != nil {
				return err
			}
			cfg := redteam.Config{Seed: seed, Questions: questions, Preset: p, GuardOn: guard.Mode(guardOn), Suites: suites,
				Timeout: lf.timeout, BombLimit: bombLimit, Concurrency: concurrency, Progress: stderr(cmd)}
			if cfg.Policy, cfg.Model, err = redteamModel(&lf, policy); err != nil {
				return err
			}
			if f, ok := cfg.Policy.(*redteam.Follower); ok {
				cfg.Answers = f.SetAnswers
			}
			rep, err := redteam.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if reportPath != "" {
				if err := rep.WriteHTML(reportPath); err != nil {
					return err
				}
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return rep.WriteTable(cmd.OutOrStdout())
		},
	}
	lf.register(cmd)
	fl := cmd.Flags()
	fl.Lookup("llm").Usage = "the model: builtin or builtin:NAME (an embedded base checkpoint), follower (the scripted gullible model) or an OpenAI-compatible base URL"
	fl.Lookup("llm").DefValue = redteamBuiltin
	fl.StringVar(&policy, "policy", "", "a policy directory sleuth train or quickstart wrote (model and tokenizer.json), instead of --llm")
	fl.StringVar(&preset, "preset", "searchr1", "preset name ("+strings.Join(agent.Presets(), ", ")+") or a preset YAML file")
	fl.StringVar(&guardOn, "guard-on", string(guard.Drop), "the guard mode of the guard-on column: annotate, quote or drop")
	fl.StringSliceVar(&suites, "suites", nil, "suites to run (default all): "+strings.Join(redteam.Suites(), ", "))
	fl.Int64Var(&seed, "seed", 1, "seed of the world, the questions and the attacks")
	fl.IntVar(&questions, "questions", redteam.DefaultQuestions, fmt.Sprintf("questions per suite (at most %d)", redteam.MaxQuestions))
	fl.BoolVar(&jsonOut, "json", false, "print the report as JSON (every case; no timings, so the same seed gives the same bytes)")
	fl.StringVar(&reportPath, "report", "", "write a self-contained HTML report to this file")
	fl.DurationVar(&bombLimit, "bomb-limit", redteam.DefaultBombLimit, "time within which a resource bomb's work must end")
	fl.IntVar(&concurrency, "concurrency", 8, "episodes in flight")
	return cmd
}

// redteamModel opens the model the flags name and returns it with its
// name for the report.
func redteamModel(lf *llmFlags, policy string) (llm.Client, string, error) {
	switch {
	case policy != "" && lf.spec != "":
		return nil, "", errors.New("give --llm or --policy, not both")
	case policy != "":
		c, err := train.LoadPolicy(policy, kernels.New(0))
		return c, "policy " + policy, err
	case lf.spec == "" || lf.spec == redteamBuiltin || strings.HasPrefix(lf.spec, redteamBuiltin+":"):
		ref := cmp.Or(lf.spec, redteamBuiltin)
		name, _ := train.BuiltinBase(ref)
		dir, err := os.MkdirTemp("", "sleuth-redteam-base-")
		if err != nil {
			return nil, "", err
		}
		defer os.RemoveAll(dir) // the model is in memory once loaded
		c, err := train.LoadBasePolicy(ref, dir, examples.Base, kernels.New(0))
		return c, "builtin base (examples/" + name + ")", err
	case lf.spec == redteamFollower:
		return &redteam.Follower{}, "follower (scripted)", nil
	case strings.HasPrefix(lf.spec, "local:"):
		return nil, "", errors.New("--llm local:PATH: give a sleuth policy directory with --policy")
	}
	c, err := lf.open()
	name := lf.spec
	if lf.model != "" {
		name += " (" + lf.model + ")"
	}
	return c, name, err
}
