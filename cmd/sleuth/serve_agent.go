package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/server/agentapi"
)

// agentServeFlags are serve's flags for serving agents as models
// (server/agentapi). The policy's tokenizer and chat template are serve's
// own --tokenizer and --chat-template; the agents search serve's --index.
type agentServeFlags struct {
	presets, llm, llmModel string
	tokenIDs               bool
	limits                 agentapi.Limits
	concurrent, queued     int
}

func (f *agentServeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.presets, "agent", "", "serve these presets as models at /v1/chat/completions, comma-separated (model ids sleuth-PRESET); needs --llm and, for presets that search, --index")
	fl.StringVar(&f.llm, "llm", "", "with --agent: the policy, local:PATH (in-process engine) or an OpenAI-compatible base URL")
	fl.StringVar(&f.llmModel, "llm-model", "", "with --agent: model name to send to an OpenAI-compatible --llm")
	fl.BoolVar(&f.tokenIDs, "token-ids", false, "with --agent: ask the --llm server for token ids")
	fl.IntVar(&f.limits.MaxTurns, "max-turns", 0, "largest max_turns a request may ask for (0: the preset's)")
	fl.IntVar(&f.limits.MaxToolCalls, "max-tool-calls", 0, "largest max_tool_calls a request may ask for (0: the preset's)")
	fl.IntVar(&f.limits.MaxTokens, "max-episode-tokens", 0, "largest max_tokens (generated over the episode) a request may ask for (0: the preset's)")
	fl.DurationVar(&f.limits.MaxWall, "max-wall", 0, "longest max_seconds a request may ask for (0: the preset's)")
	fl.IntVar(&f.concurrent, "concurrency", 64, "with --agent: episodes running at once")
	fl.IntVar(&f.queued, "queue", 1024, "with --agent: requests waiting beyond --concurrency before 429")
}

// buildAgentServeHandler serves f.presets as models, with /retrieve
// beside them when --index is given.
func buildAgentServeHandler(sf serveFlags, f agentServeFlags) (http.Handler, func(), error) {
	if sf.model != "" {
		return nil, nil, errors.New("give --agent or --model, not both: both serve /v1")
	}
	if f.llm == "" {
		return nil, nil, errors.New("--agent needs --llm: local:PATH or an OpenAI-compatible URL")
	}
	key := ""
	// serve's --api-key-env (guardFlags): httpguard checks it on every
	// request; the agent server checks it too, for when it is mounted alone.
	if sf.guard.apiKeyEnv != "" {
		if key = os.Getenv(sf.guard.apiKeyEnv); key == "" {
			return nil, nil, fmt.Errorf("--api-key-env %s: the variable is empty", sf.guard.apiKeyEnv)
		}
	}
	lf := llmFlags{spec: f.llm, tokenizer: sf.tokenizer, model: f.llmModel, chatTemplate: sf.chatTemplate, tokenIDs: f.tokenIDs, retries: 4, timeout: 2 * time.Minute}
	pol, err := lf.open()
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var systems []agentapi.System
	for _, name := range strings.Split(f.presets, ",") {
		p, err := loadPreset(strings.TrimSpace(name))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		tf := toolFlags{index: sf.index, pageSide: agent.DefaultMaxSide}
		r, closeTools, err := tf.system(p, pol)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, closeTools)
		systems = append(systems, agentapi.System{Model: agentapi.ModelID(p.Name), Preset: r.Preset, Policy: pol, Tools: r.Tools})
	}
	api, err := agentapi.New(systems, agentapi.Config{Limits: f.limits, MaxConcurrent: f.concurrent, MaxQueued: f.queued, APIKey: key, Logger: slog.Default()})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	if sf.index == "" {
		return api, closeAll, nil
	}
	retr, closeRetr, err := buildServeHandler(serveFlags{index: sf.index, topk: sf.topk, maxTopK: sf.maxTopK, maxQueries: sf.maxQueries})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	closers = append(closers, closeRetr)
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", retr)
	return mux, closeAll, nil
}
