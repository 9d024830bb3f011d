package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/server/agentapi"
	"github.com/sleuth-research/sleuth/server/mcpserver"
)

func newMCPCmd() *cobra.Command {
	var (
		lf       llmFlags
		tf       toolFlags
		gf       guardFlags
		presets  string
		runs     string
		httpAddr string
		noFetch  bool
		limits   agentapi.Limits
	)
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Offer search, fetch and research to MCP hosts (stdio, or streamable HTTP with --http)",
		Long: `mcp serves sleuth's tools over the Model Context Protocol, on stdin/stdout
(as hosts start local servers) or, with --http ADDR, as streamable HTTP at /mcp:

  search    passages from --index (or --search, --replay), with scores and URLs
  fetch     one URL through the SSRF-safe fetcher, as visible text (--no-fetch to leave out)
  research  a whole agent episode of a --preset with --llm as its policy; each search and
            turn is a progress notification, and cancelling the call stops the episode

With --runs DIR, the runs' reports, summaries, metrics and traces are resources
(sleuth://runs/RUN/FILE).

Logs go to stderr; stdout carries only the protocol.`,
		Example: `  sleuth mcp --index /tmp/idx --llm http://127.0.0.1:8001/v1 --preset searchr1,rag
  sleuth mcp --index /tmp/idx --http 127.0.0.1:8765`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, closeAll, err := mcpConfig(&lf, &tf, presets, noFetch, limits, runs)
			if err != nil {
				return err
			}
			defer closeAll()
			s, err := mcpserver.New(cfg)
			if err != nil {
				return err
			}
			if httpAddr == "" {
				return s.Run(cmd.Context(), &mcp.StdioTransport{})
			}
			mux := http.NewServeMux()
			mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{Logger: slog.Default()}))
			gc, err := gf.config()
			if err != nil {
				return err
			}
			return serveHTTP(cmd.Context(), httpAddr, mux, cmd, gc)
		},
	}
	lf.register(cmd)
	tf.register(cmd)
	gf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&presets, "preset", "searchr1", "presets the research tool may run, comma-separated (the first is the default); research is offered only with --llm")
	fl.StringVar(&httpAddr, "http", "", "serve streamable HTTP at http://ADDR/mcp instead of stdio (loopback addresses are protected from DNS rebinding)")
	fl.BoolVar(&noFetch, "no-fetch", false, "leave the fetch tool out")
	fl.StringVar(&runs, "runs", "", "offer the files of the runs in this directory as resources")
	fl.IntVar(&limits.MaxTurns, "max-turns", 0, "largest max_turns a research call may ask for (0: the preset's)")
	fl.IntVar(&limits.MaxToolCalls, "max-tool-calls", 0, "largest max_tool_calls a research call may ask for (0: the preset's)")
	fl.DurationVar(&limits.MaxWall, "max-wall", 0, "longest max_seconds a research call may ask for (0: the preset's)")
	return cmd
}

// mcpConfig opens what the flags name: the retriever for search, a safe
// fetcher, and a system per preset when there is a policy.
func mcpConfig(lf *llmFlags, tf *toolFlags, presets string, noFetch bool, limits agentapi.Limits, runs string) (mcpserver.Config, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	cfg := mcpserver.Config{Limits: limits, Runs: runs, Logger: slog.Default()}
	r, closeR, err := tf.sources().Corpus()
	if err != nil {
		return cfg, nil, err
	}
	closers = append(closers, closeR)
	if r != nil {
		cfg.Retriever = r
	}
	if !noFetch {
		fc, err := fetch.New(fetch.Config{AllowLoopback: tf.allowLoopback, CacheDir: tf.fetchCache})
		if err != nil {
			closeAll()
			return cfg, nil, err
		}
		closers = append(closers, fc.Close)
		cfg.Fetcher = fc
	}
	if lf.spec != "" {
		pol, err := lf.open()
		if err != nil {
			closeAll()
			return cfg, nil, err
		}
		for _, name := range strings.Split(presets, ",") {
			p, err := loadPreset(strings.TrimSpace(name))
			if err != nil {
				closeAll()
				return cfg, nil, err
			}
			r, closeTools, err := tf.system(p, pol)
			if err != nil {
				closeAll()
				return cfg, nil, fmt.Errorf("research preset %s: %w", p.Name, err)
			}
			closers = append(closers, closeTools)
			cfg.Systems = append(cfg.Systems, agentapi.System{Model: agentapi.ModelID(p.Name), Preset: r.Preset, Policy: pol, Tools: r.Tools})
		}
	}
	if cfg.Retriever == nil && cfg.Fetcher == nil && len(cfg.Systems) == 0 && runs == "" {
		closeAll()
		return cfg, nil, errors.New("nothing to offer: give --index (or --search), leave fetch on, give --llm for research, or --runs")
	}
	return cfg, closeAll, nil
}
