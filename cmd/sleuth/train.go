package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

type trainFlags struct {
	out, preset, rewardName, estimator string
	seed                               int64
	sftSteps, rlSteps, group, perStep  int
	dim, layers, vocab, seqLen         int
	lr, temperature                    float64
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a small research agent from scratch on a generated world: SFT on oracle traces, then GRPO",
		Long: `train builds everything from nothing on one machine: a world and its index, a
BPE tokenizer with the protocol tags, and a small Llama-style policy; it warms
the policy up on oracle traces (the shortest correct search path, in the
preset's protocol, through the real index) and then trains it with GRPO on the
preset's reward. It writes OUT/policy (model + tokenizer.json, usable with
sleuth ask --llm local:OUT/policy and sleuth serve --model OUT/policy) and
OUT/metrics.jsonl (one line per step).

This is the first cut of issue 7's loop: no --resume or report yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrain(cmd.Context(), cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "sleuth-train", "output directory")
	fl.StringVar(&f.preset, "preset", "searchr1", "agent preset (protocol and budgets)")
	fl.StringVar(&f.rewardName, "reward", "searchr1", "reward preset or YAML file")
	fl.StringVar(&f.estimator, "estimator", "grpo", "advantage estimator: grpo, dr_grpo, rloo, reinforce++")
	fl.Int64Var(&f.seed, "seed", 1, "seed for the world, the model and sampling")
	fl.IntVar(&f.sftSteps, "sft-steps", 60, "supervised steps on oracle traces")
	fl.IntVar(&f.rlSteps, "rl-steps", 20, "GRPO steps")
	fl.IntVar(&f.group, "group", 4, "episodes per question (G)")
	fl.IntVar(&f.perStep, "questions", 4, "questions per RL step")
	fl.IntVar(&f.dim, "dim", 96, "model width")
	fl.IntVar(&f.layers, "layers", 2, "model layers")
	fl.IntVar(&f.vocab, "vocab", 1500, "tokenizer vocabulary size")
	fl.IntVar(&f.seqLen, "seq-len", 2048, "context length")
	fl.Float64Var(&f.lr, "lr", 3e-3, "learning rate")
	fl.Float64Var(&f.temperature, "temperature", 1, "sampling temperature during RL rollouts")
	return cmd
}

func runTrain(ctx context.Context, cmd *cobra.Command, f trainFlags) error {
	errw := stderr(cmd)
	w, err := world.Generate(world.Config{Seed: f.seed, Entities: 300, Questions: 600})
	if err != nil {
		return err
	}
	idx := filepath.Join(f.out, "index")
	if _, err := bm25.Build(ctx, idx, passageSeq(w.Passages), bm25.BuildOptions{}); err != nil {
		return err
	}
	ix, err := bm25.Open(idx)
	if err != nil {
		return err
	}
	defer ix.Close()
	texts := func(yield func(string) bool) {
		for _, p := range w.Passages {
			if !yield(p.Title + " " + p.Text) {
				return
			}
		}
		for _, q := range w.Questions {
			if !yield(q.Question + " " + rl.OracleStep(q, 0)) {
				return
			}
		}
	}
	tok, err := tokenizer.Train(texts, f.vocab, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags()})
	if err != nil {
		return err
	}
	m, err := model.NewRandom(model.Config{Dim: f.dim, HiddenDim: f.dim * 8 / 3, Layers: f.layers, Heads: max(1, f.dim/32), KVHeads: max(1, f.dim/32),
		Vocab: tok.VocabSize(), SeqLen: f.seqLen, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, uint64(f.seed))
	if err != nil {
		return err
	}
	k := kernels.New(0)
	defer k.Close()
	m.SetMatmuls(k)
	p, err := agent.LoadPreset(f.preset)
	if err != nil {
		return err
	}
	p.Sampling.Temperature = f.temperature
	tc := model.DefaultTrainConfig(8, f.seqLen)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = f.lr, f.lr/10, 5, f.sftSteps+f.rlSteps
	tr, err := model.NewTrainer(m, tc, uint64(f.seed))
	if err != nil {
		return err
	}
	metrics, err := os.Create(filepath.Join(f.out, "metrics.jsonl"))
	if err != nil {
		return err
	}
	defer metrics.Close()
	train := w.Split(world.Train)
	rng := rand.New(rand.NewPCG(uint64(f.seed), 7))

	// SFT on oracle traces, collected through the real runner and index.
	oracle := rl.NewOracle(w.Questions, tok.Encode, tok.Decode)
	or := &agent.Runner{Preset: p, Policy: oracle, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: ix}}}
	rep := progress.New(errw, "sft", "steps", int64(f.sftSteps))
	for step := range f.sftSteps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped at SFT step %d: %w", step, err)
		}
		qs := sampleQuestions(train, 8, rng)
		eps := or.RunMany(ctx, qs, 8)
		loss, err := rl.SFTStep(tr, eps, agent.MainRole)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(metrics).Encode(map[string]any{"phase": "sft", "step": step, "loss": loss, "time": time.Now()}); err != nil {
			return err
		}
		rep.Add(1)
	}
	rep.Finish()

	// GRPO on the preset's reward.
	rc, err := reward.LoadConfig(f.rewardName)
	if err != nil {
		return err
	}
	fn, err := rc.Build(nil)
	if err != nil {
		return err
	}
	est, err := rl.ParseEstimator(f.estimator)
	if err != nil {
		return err
	}
	client := local.New(m, tok, local.Config{NoBOS: true})
	loop := &rl.Loop{Policy: m, Trainer: tr, Reward: fn, Cfg: rl.Config{Estimator: est, Group: f.group, Seed: f.seed},
		Runner: &agent.Runner{Preset: p, Policy: client, Tools: map[string]agent.Tool{"search": agent.SearchTool{R: ix}}}}
	byQ := map[string]world.Question{}
	for _, q := range train {
		byQ[q.ID] = q
	}
	rep = progress.New(errw, "grpo", "steps", int64(f.rlSteps))
	for step := range f.rlSteps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped at GRPO step %d: %w", step, err)
		}
		var batch []rl.Sample
		for _, q := range sampleQuestions(train, f.perStep, rng) {
			wq := byQ[q.ID]
			batch = append(batch, rl.Sample{ID: q.ID, Question: q.Text, Gold: reward.Gold{Question: wq.Question, Answers: wq.Answers, Supporting: wq.Supporting}})
		}
		st, err := loop.Step(ctx, step, batch)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(metrics).Encode(map[string]any{"phase": "grpo", "stats": st, "time": time.Now()}); err != nil {
			return err
		}
		rep.Add(1)
		fmt.Fprintf(errw, "grpo step %d: reward %.3f ± %.3f, searches %.2f, response %.0f tokens, clip %.2f, no-signal groups %.0f%%\n",
			step, st.Reward, st.RewardStd, st.Searches, st.ResponseLen, st.ClipFraction, 100*st.NoSignal)
	}
	rep.Finish()

	policy := filepath.Join(f.out, "policy")
	if err := m.Save(policy); err != nil {
		return err
	}
	if err := tok.Save(filepath.Join(policy, "tokenizer.json")); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "policy: %s\nmetrics: %s\ntry: sleuth ask \"%s\" --preset %s --index %s --llm local:%s --trace\n",
		policy, filepath.Join(f.out, "metrics.jsonl"), w.Split(world.Dev)[0].Question, f.preset, idx, policy)
	return nil
}

func sampleQuestions(qs []world.Question, n int, rng *rand.Rand) []agent.Question {
	out := make([]agent.Question, n)
	for i := range out {
		q := qs[rng.IntN(len(qs))]
		out[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	return out
}
