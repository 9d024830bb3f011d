package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/rollout/gateway"
	"github.com/sleuth-research/sleuth/toolset"
)

// harnessFlags are the flags every gateway harness shares: the preset,
// its tools, and how episodes sample.
type harnessFlags struct {
	tf          toolFlags
	preset      string
	model       string
	retries     int
	timeout     time.Duration
	temperature float64
	seed        int64
	jsonOut     bool
	chat        bool
}

func (f *harnessFlags) register(cmd *cobra.Command) {
	f.tf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.preset, "preset", "searchr1", "preset ("+strings.Join(agent.Presets(), ", ")+") or a preset YAML file")
	fl.StringVar(&f.model, "model", "", "model name sent to the gateway")
	fl.IntVar(&f.retries, "llm-retries", 8, "retries of a model call the gateway refused for now (429, 5xx), waiting as Retry-After says and doubling from 0.5s: the default rides out about two minutes of a gateway paused for a weight sync")
	fl.DurationVar(&f.timeout, "llm-timeout", 5*time.Minute, "time limit of one model call")
	fl.Float64Var(&f.temperature, "temperature", 1, "sampling temperature (used when the preset's is greedy, or when given)")
	fl.Int64Var(&f.seed, "seed", 0, "sampling seed (when given)")
	fl.BoolVar(&f.jsonOut, "json", false, "print each episode's result as a JSON line")
	fl.BoolVar(&f.chat, "chat", false, "send each turn to /chat/completions, the episode's context as one user message (for chat models; AReaL always does)")
}

// system builds the preset's tools and reward for episodes behind a
// gateway.
func (f *harnessFlags) system(cmd *cobra.Command) (gateway.System, func(), error) {
	p, err := loadPreset(f.preset)
	if err != nil {
		return gateway.System{}, nil, err
	}
	setTemperature(cmd, &p, f.temperature)
	rf, err := toolset.Reward(p)
	if err != nil {
		return gateway.System{}, nil, err
	}
	r, closeTools, err := f.tf.system(p, nil)
	if err != nil {
		return gateway.System{}, nil, err
	}
	sys := gateway.System{Preset: r.Preset, Tools: r.Tools, Reward: rf, Chat: f.chat || f.tf.imageChat,
		LLM: llm.HTTPConfig{Model: f.model, MaxRetries: f.retries, Timeout: f.timeout}}
	if cmd.Flags().Changed("seed") {
		sys.Seed = &f.seed
	}
	return sys, closeTools, nil
}

// setTemperature samples p at t when --temperature is given or p decodes
// greedily: a trainer comparing episodes of one question needs them to
// differ.
func setTemperature(cmd *cobra.Command, p *agent.Preset, t float64) {
	if cmd.Flags().Changed("temperature") || p.Sampling.Temperature == 0 {
		p.Sampling.Temperature = t
	}
}

func (f *harnessFlags) print(cmd *cobra.Command, r gateway.Result, err error) {
	if f.jsonOut {
		writeJSON(cmd.OutOrStdout(), struct {
			gateway.Result
			Error string `json:"error,omitempty"`
		}{r, errString(err)})
		return
	}
	line := fmt.Sprintf("%s: %s, reward %.3f, reported %v", r.ID, r.Status, r.Reward, r.Reported)
	if err != nil {
		line += ": " + err.Error()
	}
	fmt.Fprintln(cmd.OutOrStdout(), line)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func newRolloutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Run episodes behind an RL gateway that records token ids, reporting each episode's reward (AReaL online mode, Agent Lightning)",
	}
	cmd.AddCommand(newRolloutAReaLCmd(), newRolloutAGLCmd())
	return cmd
}

func newRolloutAReaLCmd() *cobra.Command {
	var (
		hf                 harnessFlags
		gatewayURL, keyEnv string
		data               string
		concurrency, limit int
	)
	cmd := &cobra.Command{
		Use:   "areal --gateway URL --data FILE --preset P",
		Short: "Play questions as AReaL online-mode trajectories: start_session, the episode's chat calls, set_reward, end_session",
		Long: `rollout areal plays every question of --data (or the first --limit) as one
AReaL trajectory each, --concurrency at a time: POST /rl/start_session with
the admin key (waiting while the gateway answers 429), the episode's turns
as POST /chat/completions with the session's key (AReaL records their token
ids and logprobs), POST /rl/set_reward with the preset's reward, and
POST /rl/end_session. An episode that failed (a model or tool call broke)
gets no reward; its session is ended and the command exits non-zero after
the rest.`,
		Example: `  AREAL_ADMIN_KEY=my-secret-admin-key sleuth rollout areal --gateway http://10.0.0.5:8090 --preset searchr1 --index idx --data train.jsonl --concurrency 32`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gatewayURL == "" || data == "" {
				return errors.New("rollout areal: --gateway and --data are required")
			}
			key := os.Getenv(keyEnv)
			if key == "" {
				return fmt.Errorf("rollout areal: set the gateway's admin key in $%s", keyEnv)
			}
			qs, err := eval.LoadQuestions(data)
			if err != nil {
				return err
			}
			if limit > 0 && limit < len(qs) {
				qs = qs[:limit]
			}
			sys, closeTools, err := hf.system(cmd)
			if err != nil {
				return err
			}
			defer closeTools()
			tasks := make([]gateway.Task, len(qs))
			for i, q := range qs {
				tasks[i] = gateway.Task{Question: agent.Question{ID: q.ID, Text: q.Question}, Gold: q.Gold(), Index: i}
			}
			a := gateway.AReaL{URL: gatewayURL, AdminKey: key}
			failed := a.RunAll(cmd.Context(), sys, tasks, concurrency, func(res gateway.Result, err error) { hf.print(cmd, res, err) })
			if failed > 0 {
				return fmt.Errorf("rollout areal: %d of %d trajectories failed", failed, len(qs))
			}
			return cmd.Context().Err()
		},
	}
	hf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&gatewayURL, "gateway", "", "AReaL's proxy gateway (the address its trainer prints)")
	fl.StringVar(&keyEnv, "admin-key-env", "AREAL_ADMIN_KEY", "environment variable holding the gateway's admin key (rollout.openai.admin_api_key)")
	fl.StringVar(&data, "data", "", "question file with gold answers (any format sleuth eval reads)")
	fl.IntVar(&concurrency, "concurrency", 8, "trajectories in flight")
	fl.IntVar(&limit, "limit", 0, "play only the first N questions (0: all)")
	return cmd
}

func newRolloutAGLCmd() *cobra.Command {
	var (
		hf      harnessFlags
		taskEnv string
	)
	cmd := &cobra.Command{
		Use:   "agl",
		Short: "Play one Agent Lightning rollout from the environment its controller sets (a process or a Kubernetes Job)",
		Long: `rollout agl is one Agent Lightning rollout, as its controller starts it (a
local process, or a Kubernetes Job from integrations/agentlightning): it
reads AGL_OPENAI_BASE_URL, AGL_EVENT_URL and AGL_KEY, and the task from
--task-env (default SLEUTH_TASK: one question record in any format sleuth
eval reads, with its gold answers; map it from the rollout's input with
env_map, or render it into the Job template). It runs the episode against
the gateway, which records the token ids, and posts the reward
({"event_type": "reward", "data": {"value", "source", "reason",
"components"}}). It exits non-zero when the episode failed or the reward
was not taken, so the controller marks the rollout failed.`,
		Example: `  SLEUTH_TASK='{"id":"q1","question":"…","golden_answers":["…"]}' sleuth rollout agl --preset searchr1 --index /data/idx`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := gateway.AGLFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			raw := os.Getenv(taskEnv)
			if raw == "" {
				return fmt.Errorf("rollout agl: $%s holds no task", taskEnv)
			}
			qs, err := eval.ParseQuestions([]byte(raw), "$"+taskEnv)
			if err != nil {
				return err
			}
			if len(qs) != 1 {
				return fmt.Errorf("rollout agl: $%s holds %d questions, want one", taskEnv, len(qs))
			}
			sys, closeTools, err := hf.system(cmd)
			if err != nil {
				return err
			}
			defer closeTools()
			q := qs[0]
			res, err := a.Run(cmd.Context(), sys, gateway.Task{Question: agent.Question{ID: q.ID, Text: q.Question}, Gold: q.Gold()})
			hf.print(cmd, res, err)
			return err
		},
	}
	hf.register(cmd)
	cmd.Flags().StringVar(&taskEnv, "task-env", "SLEUTH_TASK", "environment variable holding the rollout's question and gold answers")
	return cmd
}
