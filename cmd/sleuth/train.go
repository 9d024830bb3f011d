package main

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/train"
)

type trainFlags struct {
	config, out string
	resume      bool
	forceNew    bool
	export      string
	seed        int64
	rlSteps     int
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a research agent from scratch: pre-training, SFT on oracle traces, then RL (GRPO, PPO, …)",
		Long: `train runs a training configuration (YAML; built in: quickstart, fast, base, reading, progress, fresh-sft,
and the seed-system recipes imrag, arena, mmoa, vrag and deepresearcher, most with a -fast variant; see examples/train/) in OUT: it generates the world and its index, trains a BPE
tokenizer with the protocol tags and a small Llama-style policy from nothing,
pre-trains it on the world's passages, warms it up by SFT on oracle traces
(the shortest correct search path, through the real index), then trains it
with reinforcement learning on the preset's reward.

OUT holds metrics.jsonl (a line per step: loss, reward and its components,
EM, KL, entropy, clip fraction, response length, searches, tokens/s, health
warnings), checkpoints/ (every checkpoint.every steps and on Ctrl-C),
sft/ and policy/ (model + tokenizer.json, for sleuth ask --llm local:DIR and
sleuth serve --model DIR), samples.jsonl and report.html (curves, warnings,
sampled episodes coloured by loss mask and advantage).

A run stopped in any way continues with --resume and ends exactly where an
uninterrupted run with the same config ends.`,
		Example: `  sleuth train --config quickstart --out runs/qs
  sleuth train --config my.yaml --out runs/a --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := train.LoadConfig(examples.Training, f.config)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") {
				cfg.Seed = f.seed
			}
			if cmd.Flags().Changed("rl-steps") {
				cfg.RL.Steps = f.rlSteps
			}
			if f.forceNew {
				if err := train.DiscardRun(f.out, train.RunEntries); err != nil {
					return err
				}
			}
			r := &train.Run{Cfg: cfg, Dir: f.out, Log: stderr(cmd), BuiltinBase: examples.Base}
			defer r.Close()
			if err := r.TrainAll(cmd.Context(), f.resume); err != nil {
				return err
			}
			if f.export != "" {
				if err := r.ExportBase(f.export, f.config); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "base: %s\n", f.export)
			}
			source := "--index " + r.Path("index")
			if p, err := agent.LoadPreset(r.Path("preset.yaml")); err == nil && p.HasTool(agent.ToolBrowse) {
				source = "--browse --search searxng:URL" // a browsing preset reads the web, not the index
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy: %s\nreport: %s\ntry:    sleuth ask %q --preset %s %s --llm local:%s --trace\nserve:  sleuth serve --model %s\n",
				r.Path("policy"), r.Path("report.html"), r.Questions()[0].Question, r.Path("preset.yaml"), source, r.Path("policy"), r.Path("policy"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "quickstart", "training config: a YAML file or a built-in name ("+builtinConfigs()+")")
	fl.StringVar(&f.out, "out", "sleuth-train", "run directory")
	fl.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fl.BoolVar(&f.forceNew, "force-new", false, "discard the run in --out (its checkpoints, metrics, policies, indexes) and start anew")
	fl.StringVar(&f.export, "export", "", "after a pre-training-only run (e.g. --config base), write its policy, tokenizer and manifest (base.json) here as a base checkpoint")
	fl.Int64Var(&f.seed, "seed", 1, "override the config's seed")
	fl.IntVar(&f.rlSteps, "rl-steps", 0, "override the config's RL steps")
	return cmd
}

// builtinConfigs lists the names `--config` resolves without a file: the
// embedded examples/train/*.yaml, so the help cannot miss a new recipe.
func builtinConfigs() string {
	ents, _ := fs.ReadDir(examples.Training, "train")
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return strings.Join(names, ", ")
}
