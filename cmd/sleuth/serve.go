package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/backend"
	"github.com/sleuth-research/sleuth/server/openai"
	"github.com/sleuth-research/sleuth/server/retrieve"
	"github.com/sleuth-research/sleuth/tinker"
)

type serveFlags struct {
	index, model, tokenizer, addr, name, chatTemplate string
	topk, maxTopK, maxQueries                         int
	batch, batchQueue                                 int
	guard                                             guardFlags

	dense denseFlags // dense.go
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	var af agentServeFlags
	var ef envServeFlags
	var tf tinkerServeFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve retrieval (Search-R1 /retrieve) and/or a model (OpenAI-compatible /v1) over HTTP",
		Long: `Serve an index, a model, or both on one address.

With --index: POST /retrieve exactly as Search-R1's retrieval server
({"queries":[...],"topk":3,"return_scores":true}), GET /healthz, GET /metrics.
With --model: POST /v1/completions, POST /v1/chat/completions, GET /v1/models,
as vLLM and Ollama do, backed by the in-process engine.
With --agent PRESETS --llm URL|local:PATH: the presets as models
(sleuth-PRESET) at POST /v1/chat/completions, streamed or not, answering
with the episode's answer and sources (server/agentapi; README "Use the
agent"), with /retrieve beside them when --index is given.
With --env PRESETS: episode sessions for outside trainers (verl, SkyRL) at
/env/ (server/env; README "Training at scale"): create a session from a
question and its gold, call the preset's tools in it, score the episode
with the preset's reward; beside any of the above.
With --tinker BASES: the Tinker training API at /api/v1/ (package tinker;
README "Training at scale") over the in-process engine, models created
from the named bases, for sleuth train's backend: {tinker: URL}; beside
any of the above.`,
		Example: `  sleuth serve --index /tmp/idx --addr 127.0.0.1:8000
  sleuth serve --model model.bin --tokenizer tok.bin --addr 127.0.0.1:8001
  sleuth serve --agent searchr1,rag --llm http://127.0.0.1:8001/v1 --index /tmp/idx --addr 127.0.0.1:8002
  sleuth serve --env searchr1,deepresearcher --index /tmp/idx --addr 127.0.0.1:8003
  sleuth serve --tinker builtin --addr 127.0.0.1:8004`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.index == "" && f.dense.denseIndex == "" && f.model == "" && af.presets == "" && ef.presets == "" && tf.bases == "" {
				return errNothingToServe
			}
			gc, err := f.guard.config("/healthz", "/metrics", "/v1/models", "/env/healthz", "/env/metrics", tinker.API+"healthz")
			if err != nil {
				return err
			}
			build := buildServeHandler
			if af.presets != "" {
				build = func(f serveFlags) (http.Handler, func(), error) { return buildAgentServeHandler(f, af) }
			}
			var h http.Handler
			if af.presets != "" || f.index != "" || f.dense.denseIndex != "" || f.model != "" {
				hh, closeFn, err := build(f)
				if err != nil {
					return err
				}
				defer closeFn()
				h = hh
			}
			if ef.presets != "" {
				es := newEnvServer(f, ef) // serve_env.go
				defer es.Close()
				h = withEnv(h, es)
			}
			if tf.bases != "" {
				ts, closeTS := newTinkerServer(tf) // serve_tinker.go
				defer closeTS()
				h = withTinker(h, ts)
			}
			return serveHTTP(cmd.Context(), f.addr, h, cmd, gc)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.index, "index", "", "BM25 index directory to serve at /retrieve (sharded or not), or es:URL/INDEX, os:URL/INDEX")
	fl.StringVar(&f.model, "model", "", "model checkpoint to serve at /v1 (llama2.c .bin, or a directory with config.json and model.safetensors)")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer (llama2.c tokenizer.bin or tokenizer.json); default: tokenizer.json beside the model, if any")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8000", "address to listen on (port 0 picks a free port)")
	fl.StringVar(&f.name, "name", "", "model id served at /v1/models (default: the model file's base name)")
	fl.StringVar(&f.chatTemplate, "chat-template", "", "chat template for /v1/chat/completions: qwen2, chatml, llama3, or empty for plain role lines")
	fl.IntVar(&f.topk, "topk", 3, "default topk when a /retrieve request gives none")
	fl.IntVar(&f.maxTopK, "max-topk", 100, "largest topk a /retrieve request may ask for")
	fl.IntVar(&f.maxQueries, "max-queries", 512, "most queries in one /retrieve request")
	fl.IntVar(&f.batch, "batch", 0, "merge concurrent /retrieve requests into batched searches of up to this many queries (0: each request searches alone)")
	fl.IntVar(&f.batchQueue, "batch-queue", 4096, "with --batch: queries waiting for a batch; beyond it a request gets 503 with Retry-After")
	f.guard.register(cmd)
	f.dense.register(fl)
	af.register(cmd)
	ef.register(cmd)
	tf.register(cmd)
	return cmd
}

func buildServeHandler(f serveFlags) (http.Handler, func(), error) {
	var retr, api http.Handler
	closeFn := func() {}
	if f.dense.denseIndex != "" {
		h, c, err := serveRetrievers(f)
		if err != nil {
			return nil, nil, err
		}
		retr, closeFn = h, c
	} else if f.index != "" {
		ix, err := backend.OpenIndex(context.Background(), f.index)
		if err != nil {
			return nil, nil, err
		}
		rs := retrieve.New(ix, retrieve.Config{DefaultTopK: f.topk, MaxTopK: f.maxTopK, MaxQueries: f.maxQueries, Logger: slog.Default(),
			Index: retrieve.IndexInfo{Backend: ix.Backend, Path: f.index, Documents: ix.Documents}, Batch: f.batchConfig()})
		closeFn = func() { rs.Close(); ix.Close() }
		retr = rs
	}
	if f.model != "" {
		client, err := loadLocal(f.model, f.tokenizer, f.chatTemplate, false)
		if err != nil {
			closeFn()
			return nil, nil, err
		}
		name := f.name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(f.model), filepath.Ext(f.model))
		}
		api = openai.New(client, openai.Config{Model: name, Logger: slog.Default()})
	}
	mux := http.NewServeMux()
	switch {
	case retr != nil && api != nil:
		mux.Handle("/v1/", api)
		mux.Handle("/", retr)
	case retr != nil:
		mux.Handle("/", retr)
	default:
		mux.Handle("/", api)
	}
	return mux, closeFn, nil
}

// batchConfig is the micro-batcher --batch asks for, or nil.
func (f serveFlags) batchConfig() *search.CoalesceConfig {
	if f.batch <= 0 {
		return nil
	}
	return &search.CoalesceConfig{MaxBatch: f.batch, MaxQueue: f.batchQueue}
}

// loadLocal loads a checkpoint and its tokenizer into an in-process client
// (local.Load).
func loadLocal(modelPath, tokPath, chatTemplate string, deterministic bool) (*local.Client, error) {
	return local.Load(modelPath, local.LoadOptions{Tokenizer: tokPath, ChatTemplate: chatTemplate, Deterministic: deterministic})
}
