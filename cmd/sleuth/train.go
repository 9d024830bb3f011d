package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/rl"
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
		Long: `train runs a training configuration (YAML; built in: quickstart, fast, base, reading, progress, fresh-sft; see
examples/train/) in OUT: it generates the world and its index, trains a BPE
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
			cfg, err := loadTrainConfig(f.config)
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
				if err := discardRun(f.out, runEntries); err != nil {
					return err
				}
			}
			r := &trainRun{cfg: cfg, dir: f.out, errw: stderr(cmd)}
			if err := trainAll(cmd.Context(), r, f.resume); err != nil {
				return err
			}
			if f.export != "" {
				if err := r.exportBase(f.export, f.config); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "base: %s\n", f.export)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy: %s\nreport: %s\ntry:    sleuth ask %q --preset %s --index %s --llm local:%s --trace\nserve:  sleuth serve --model %s\n",
				r.path("policy"), r.path("report.html"), r.train[0].Question, r.path("preset.yaml"), r.path("index"), r.path("policy"), r.path("policy"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "quickstart", "training config: a YAML file or a built-in name (quickstart, fast, base, reading, progress, fresh-sft)")
	fl.StringVar(&f.out, "out", "sleuth-train", "run directory")
	fl.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fl.BoolVar(&f.forceNew, "force-new", false, "discard the run in --out (its checkpoints, metrics, policies, indexes) and start anew")
	fl.StringVar(&f.export, "export", "", "after a pre-training-only run (e.g. --config base), write its policy, tokenizer and manifest (base.json) here as a base checkpoint")
	fl.Int64Var(&f.seed, "seed", 1, "override the config's seed")
	fl.IntVar(&f.rlSteps, "rl-steps", 0, "override the config's RL steps")
	return cmd
}

// trainAll opens (or resumes) a run, trains what is left and writes its
// report, also when stopped early.
func trainAll(ctx context.Context, r *trainRun, resume bool) error {
	defer r.close()
	if err := r.open(ctx, resume); err != nil {
		return err
	}
	err := r.run(ctx)
	if rerr := r.writeReport(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// writeReport renders report.html from metrics.jsonl and samples.jsonl.
func (r *trainRun) writeReport() error {
	lines, err := readJSONL[metricLine](r.path("metrics.jsonl"))
	if err != nil {
		return err
	}
	samples, err := readJSONL[rl.TraceSample](r.path("samples.jsonl"))
	if err != nil {
		return err
	}
	rep := rl.Report{Title: "sleuth training run: " + r.dir,
		Summary: []string{fmt.Sprintf("preset %s, reward %s, %s; model d=%d×%d layers; %d training worlds from seed %d (%d entities each); pre-training %d, SFT %d (≤ %d hops), RL %d steps (%d–%d hops, %d questions × %d episodes)",
			r.cfg.Preset, r.cfg.Reward, r.cfg.RL.Algorithm, r.cfg.Model.Dim, r.cfg.Model.Layers, r.cfg.World.Count, r.cfg.Seed, r.cfg.World.Entities,
			r.cfg.Pretrain.Steps, r.cfg.SFT.Steps, r.cfg.SFT.MaxHops, r.cfg.RL.Steps, r.cfg.RL.MinHops, r.cfg.RL.MaxHops, r.cfg.RL.Questions, r.cfg.RL.Group)},
		Samples: samples, Pre: r.extra}
	curves := map[string]*rl.Series{}
	var order []string
	add := func(name string, step int, v float64) {
		s, ok := curves[name]
		if !ok {
			s = &rl.Series{Name: name}
			curves[name] = s
			order = append(order, name)
		}
		s.Steps, s.Values = append(s.Steps, step), append(s.Values, v)
	}
	for _, m := range lines {
		if m.RL == nil {
			add(m.Phase+" loss", m.Step, m.Loss)
			continue
		}
		st := m.RL
		add("rl reward", m.Step, st.Reward)
		add("rl exact match", m.Step, st.EM)
		add("rl searches per episode", m.Step, st.Searches)
		add("rl response tokens", m.Step, st.ResponseLen)
		add("rl entropy (nats/token)", m.Step, st.Entropy)
		add("rl KL to reference", m.Step, st.KL)
		add("rl clip fraction", m.Step, st.ClipFraction)
		add("rl groups without signal", m.Step, st.NoSignal)
		for _, p := range rl.BehaviourCurvePoints(*st) {
			add(p.Name, m.Step, p.Value)
		}
		rep.Warnings = append(rep.Warnings, m.Warnings...)
	}
	for _, n := range order {
		rep.Curves = append(rep.Curves, *curves[n])
	}
	return rl.WriteReport(r.path("report.html"), rep)
}

// readJSONL reads a JSONL file of T, skipping a torn last line; a missing
// file is empty.
func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			out = append(out, v)
		}
	}
	return out, sc.Err()
}
