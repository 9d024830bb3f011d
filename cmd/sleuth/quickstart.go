package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/train"
)

type quickstartFlags struct {
	out, config string
	split       string
	seed        int64
	fast        bool
	fromScratch bool
	forceNew    bool
	jsonOut     bool
	perHop      int
}

func newQuickstartCmd() *cobra.Command {
	var f quickstartFlags
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Train a research agent and evaluate it against baselines (the main job, on embedded defaults)",
		Long: `quickstart runs sleuth end to end on the embedded defaults, offline, on one
CPU. It starts from the built-in three-hop base checkpoint (a small policy
that sleuth's own recipe pre-trained on synthetic worlds, its oracle traces
chaining up to three searches: examples/base3, remade by 'sleuth train
--config base3'; --fast starts from examples/base), then trains by SFT on
oracle traces of 1- and 2-hop questions on a fresh world per step, GRPO on
1- to 3-hop questions of a family of fresh worlds (searchr1 protocol, F1 +
per-turn progress reward), and the best-SFT baseline (SFT continued for about the
compute RL used). It evaluates on a world whose seed no training phase used,
against baselines: no retrieval, retrieve once then answer (as many passages
as the agents read), the SFT policy, best SFT and the oracle. It prints the
table (with --json, as one JSON object on the last line), writes
OUT/report.html (curves, health warnings, sampled episodes, the table) and
saves the policies, printing how to ask and serve them.

--seed changes every world, the data order and sampling (not the base);
--from-scratch pre-trains the base too, at --seed. --split validation
evaluates on the validation world instead of the test world: tune recipes
there, report on test. A killed quickstart continues where it stopped when
run again with the same --out; a directory made by another config or seed is
refused (--force-new discards it). --fast runs the one-minute version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "sleuth-quickstart", "run directory (training run, evaluation, report)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of everything: worlds, model, sampling")
	fl.BoolVar(&f.fast, "fast", false, "the CI-sized run: every phase, a few steps each")
	fl.StringVar(&f.config, "config", "", "training config instead of the built-in quickstart (or fast) one")
	fl.IntVar(&f.perHop, "questions-per-hop", 0, "held-out questions of each hop count 1–3 (default 100; 60 with --fast)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the table as one JSON object on the last line")
	fl.BoolVar(&f.fromScratch, "from-scratch", false, "pre-train the policy too (the recipe of the base the config names: examples/train/base3.yaml for the default quickstart, at --seed) instead of starting from the built-in base checkpoint; at seed 1 it remakes the committed base; a seed that reads late trains on in re-warmed cycles up to 3,000 steps (seed 2: GRPO 38.7% against 44.0% from the committed base; BENCHMARKS.md, Session 18)")
	fl.BoolVar(&f.forceNew, "force-new", false, "discard the run in --out and start anew (otherwise a run of another config or seed there is refused)")
	fl.StringVar(&f.split, "split", train.SplitTest, "evaluation world: test (the one the quickstart reports) or validation (the one recipes are tuned on)")
	return cmd
}

func runQuickstart(ctx context.Context, cmd *cobra.Command, f quickstartFlags) error {
	start := time.Now()
	out, errw := cmd.OutOrStdout(), stderr(cmd)
	name := f.config
	if name == "" {
		name = "quickstart"
		if f.fast {
			name = "fast"
		}
	}
	cfg, err := train.LoadConfig(examples.Training, name)
	if err != nil {
		return err
	}
	if f.fromScratch {
		if cfg, err = train.FromScratch(examples.Training, cfg); err != nil {
			return err
		}
		name += " from scratch"
	}
	if cmd.Flags().Changed("seed") {
		cfg.Seed = f.seed
	}
	if f.split != train.SplitTest && f.split != train.SplitValidation {
		return fmt.Errorf("--split %q: want test or validation", f.split)
	}
	if f.forceNew {
		if err := train.DiscardRun(f.out, train.QuickstartEntries); err != nil {
			return err
		}
	}
	perHop := f.perHop
	if perHop == 0 {
		perHop = 100
		if f.fast {
			// 60, not 30: at 30 a 1-hop paired interval is ±20–25 points
			// wide, too wide to tell a reading policy from retrieve-once
			// at every seed (BENCHMARKS.md, "Session 9").
			perHop = 60
		}
	}
	r := &train.Run{Cfg: cfg, Dir: filepath.Join(f.out, "train"), Log: errw, BuiltinBase: examples.Base}
	fmt.Fprintf(errw, "training (%s config, seed %d) in %s\n", name, cfg.Seed, r.Dir)
	defer r.Close()
	if err := r.TrainAll(ctx, r.HasCheckpoint()); err != nil {
		return err
	}
	table, err := train.Evaluate(ctx, f.out, r, f.split, perHop, errw)
	if err != nil {
		return err
	}
	table.Seconds = time.Since(start).Seconds()
	var text strings.Builder
	train.PrintTable(&text, table)
	r.Extra = text.String()
	if err := r.WriteReport(); err != nil {
		return err
	}
	if err := copyFile(r.Path("report.html"), filepath.Join(f.out, "report.html")); err != nil {
		return err
	}
	fmt.Fprint(errw, text.String())
	q := "Who founded the employer of the person who wrote The Last Orchard of Evofund?"
	if qs := r.Questions(); len(qs) > 0 {
		q = qs[len(qs)-1].Question
	}
	fmt.Fprintf(errw, "\nreport: %s\npolicy: %s\nask it:   sleuth ask %q --preset %s --index %s --llm local:%s --trace\nserve it: sleuth serve --model %s --index %s\n",
		filepath.Join(f.out, "report.html"), r.Path("policy"), q, r.Path("preset.yaml"), r.Path("index"), r.Path("policy"), r.Path("policy"), r.Path("index"))
	if f.jsonOut {
		return writeJSON(out, table)
	}
	fmt.Fprint(out, text.String())
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return atomicfile.Write(to, b)
}
