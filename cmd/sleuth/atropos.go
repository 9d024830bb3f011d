package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/rollout"
	"github.com/sleuth-research/sleuth/rollout/atropos"
	"github.com/sleuth-research/sleuth/toolset"
)

func newAtroposCmd() *cobra.Command {
	var (
		lf          llmFlags
		tf          toolFlags
		cfg         atropos.Config
		api, preset string
		data        string
		temperature float64
		seed        int64
		jsonOut     bool
	)
	cmd := &cobra.Command{
		Use:   "atropos --api URL --llm URL --tokenizer FILE --preset P --data FILE",
		Short: "Be an Atropos environment: roll out groups of a preset's episodes against the policy server and post them scored",
		Long: `atropos registers with Atropos's API server (POST /register-env, waiting
until the trainer has started), then, group after group, runs --group-size
episodes of one question of --data against the policy's OpenAI-compatible
server, scores each with the preset's reward, and posts the group
(POST /scored_data): every episode's token stream as the episode holds it,
masks with -100 on prompt and tool-output tokens and the token id on the
policy's own, the reward as the score, and the policy's logprobs.

Token ids are never rebuilt from text: the policy server must return them
(vLLM's and sleuth's return_token_ids, asked for here), and sleuth encodes
the environment's text with the policy's tokenizer (--tokenizer, the
model's tokenizer.json) and sends whole prompts as token ids. A server that
returns text only is refused before the first group. Groups whose scores
are all equal are skipped, as Atropos's BaseEnv does, unless
--keep-equal-scores; the queue is left to drain while it holds
--max-batches-off-policy batches. It stops after --groups groups, or when the
trainer has taken its steps.`,
		Example: `  sleuth atropos --api http://127.0.0.1:8000 --llm http://127.0.0.1:9001/v1 --model Qwen/Qwen2.5-3B-Instruct \
      --tokenizer qwen/tokenizer.json --preset searchr1 --index idx --data train.jsonl --group-size 8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return errors.New("atropos: --data is required")
			}
			p, err := loadPreset(preset)
			if err != nil {
				return err
			}
			setTemperature(cmd, &p, temperature)
			qs, err := eval.LoadQuestions(data)
			if err != nil {
				return err
			}
			if len(qs) == 0 {
				return fmt.Errorf("atropos: %s holds no questions", data)
			}
			rf, err := toolset.Reward(p)
			if err != nil {
				return err
			}
			lf.tokenIDs = true
			pol, err := tokenPolicyFor(&lf)
			if err != nil {
				return err
			}
			if err := rollout.ProbeTokenIDs(cmd.Context(), pol); err != nil {
				return err
			}
			r, closeTools, err := tf.system(p, pol)
			if err != nil {
				return err
			}
			defer closeTools()
			var opts []agent.RunOption
			if cmd.Flags().Changed("seed") {
				opts = append(opts, agent.WithSeed(seed))
			}
			if cfg.Name == "" {
				cfg.Name = "sleuth-" + p.Name
			}
			cfg.Logger = slog.Default()
			tasks := make([]atropos.Task, len(qs))
			for i, q := range qs {
				tasks[i] = atropos.Task{Question: agent.Question{ID: q.ID, Text: q.Question}, Gold: q.Gold()}
			}
			src := atropos.GroupSource(r, rf, tasks, cfg.GroupSize, seed, opts...)
			st, err := atropos.Run(cmd.Context(), atropos.NewClient(api, nil), cfg, agent.MainRole, src)
			if jsonOut {
				if werr := writeJSON(cmd.OutOrStdout(), st); werr != nil && err == nil {
					err = werr
				}
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "environment %d: %d groups rolled out, %d posted, %d skipped, %d failed\n", st.EnvID, st.Groups, st.Posted, st.Skipped, st.Failed)
			}
			return err
		},
	}
	lf.register(cmd)
	tf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&api, "api", "http://localhost:8000", "Atropos API server (run-api)")
	fl.StringVar(&preset, "preset", "searchr1", "preset ("+strings.Join(agent.Presets(), ", ")+") or a preset YAML file")
	fl.StringVar(&data, "data", "", "question file with gold answers (any format sleuth eval reads); questions are drawn in a shuffled cycle")
	fl.StringVar(&cfg.Name, "name", "", "environment name registered (default sleuth-PRESET)")
	fl.IntVar(&cfg.GroupSize, "group-size", 4, "episodes per question and group")
	fl.IntVar(&cfg.MaxTokenLength, "max-token-length", 2048, "max_token_length registered with the API")
	fl.Float64Var(&cfg.Weight, "weight", 1, "inference weight registered with the API")
	fl.IntVar(&cfg.Concurrency, "concurrency", 4, "groups rolled out at once")
	fl.IntVar(&cfg.Groups, "groups", 0, "groups to roll out, then stop (0: until the trainer has taken its steps)")
	fl.IntVar(&cfg.TotalSteps, "total-steps", 0, "stop once the trainer's step and the queue pass this (0: the API's num_steps)")
	fl.IntVar(&cfg.MaxBatchesOffPolicy, "max-batches-off-policy", 3, "batches allowed to wait in the API's queue before rolling out pauses")
	fl.BoolVar(&cfg.KeepEqualScores, "keep-equal-scores", false, "post groups whose episodes all scored the same (skipped by default: no advantage)")
	fl.Float64Var(&temperature, "temperature", 1, "sampling temperature of the policy (used when the preset's is greedy, or when given)")
	fl.Int64Var(&seed, "seed", 0, "seed of the question order and, when given, of sampling")
	fl.BoolVar(&jsonOut, "json", false, "print the run's counts as JSON")
	return cmd
}

// tokenPolicyFor opens the policy the flags name with token ids: a local
// model with its own tokenizer, or a server with --tokenizer.
func tokenPolicyFor(lf *llmFlags) (rollout.TokenPolicy, error) {
	pol, err := lf.open()
	if err != nil {
		return rollout.TokenPolicy{}, err
	}
	return rollout.NewTokenPolicy(pol, lf.tokenizer)
}
