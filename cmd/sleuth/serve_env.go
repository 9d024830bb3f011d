package main

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/server/env"
	"github.com/sleuth-research/sleuth/toolset"
)

// envServeFlags are serve's flags for the environment server (server/env).
type envServeFlags struct {
	presets     string
	maxSessions int
	ttl         time.Duration
}

func (f *envServeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.presets, "env", "", "serve episode sessions for these presets to outside trainers at /env/ (comma-separated; \"all\" for every built-in preset an outside policy can step), their tools searching --index")
	fl.IntVar(&f.maxSessions, "env-max-sessions", 10_000, "with --env: most sessions open at once; creates beyond it get 503")
	fl.DurationVar(&f.ttl, "env-ttl", 15*time.Minute, "with --env: a session ends this long after its last request")
}

// envPresets lists the presets --env names.
func (f *envServeFlags) envPresets() []string {
	if strings.TrimSpace(f.presets) == "all" {
		return nil // any preset the opener accepts
	}
	var out []string
	for _, p := range strings.Split(f.presets, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newEnvServer builds the environment server; its opener builds each
// preset's tools as ask and eval do (toolFlags.system) over serve's index.
func newEnvServer(sf serveFlags, f envServeFlags) *env.Server {
	return env.New(env.Config{
		Open:        envOpener(sf.index),
		Presets:     f.envPresets(),
		MaxSessions: f.maxSessions,
		TTL:         f.ttl,
		Logger:      slog.Default(),
	})
}

// envOpener returns the env.Opener over index: the preset, its tools
// (without a browse tool: the server holds no model to read pages) and
// its reward, the built-in reward config of the same name or, for presets
// without one (rag, direct), answer F1 with EM and cover-EM beside it.
func envOpener(index string) env.Opener {
	return func(name string) (env.System, func(), error) {
		p, err := loadPreset(name)
		if err != nil {
			return env.System{}, nil, err
		}
		rf, err := toolset.Reward(p)
		if err != nil {
			return env.System{}, nil, err
		}
		tf := toolFlags{index: index, pageSide: agent.DefaultMaxSide}
		r, closeTools, err := tf.system(p, nil)
		if err != nil {
			return env.System{}, nil, err
		}
		return env.System{Runner: r, Reward: rf}, closeTools, nil
	}
}

// withEnv mounts the environment server at /env/ beside h (nil: alone).
func withEnv(h http.Handler, es *env.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/env/", es)
	if h != nil {
		mux.Handle("/", h)
	}
	return mux
}

var errNothingToServe = errors.New("nothing to serve: give --index, --dense-index, --model, --agent, --env or --tinker")
