package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// newRootCmd assembles the command tree. Each command group lives in its own
// file and contributes one constructor here.
func newRootCmd() *cobra.Command {
	var (
		verbose    bool
		cpuProfile string
	)
	root := &cobra.Command{
		Use:           "sleuth",
		Short:         "Build, train, evaluate and serve research agents",
		Long:          "sleuth builds, trains with reinforcement learning, evaluates and serves research agents:\nlanguage models that think, search, read and answer over many rounds.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})))
			if cpuProfile == "" {
				return nil
			}
			// main stops the profile whether the command succeeds or not;
			// the file stays open until the process exits.
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			return pprof.StartCPUProfile(f)
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail to stderr")
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole command to this file (go tool pprof)")
	root.AddCommand(
		newQuickstartCmd(),
		newWorldCmd(),
		newIndexCmd(),
		newDenseCmd(),
		newSearchCmd(),
		newServeCmd(),
		newMCPCmd(),
		newUICmd(),
		newAskCmd(),
		newEvalCmd(),
		newTrainCmd(),
		newCompareCmd(),
		newBenchCmd(),
		newGenerateCmd(),
		newScoreCmd(),
		newFetchCmd(),
		newWebCmd(),
		newExportCmd(),
		newAtroposCmd(),
		newRolloutCmd(),
		newGuardCmd(),
		newRedteamCmd(),
	)
	return root
}

// writeJSON prints v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// stderr is where progress goes, so stdout stays clean for --json output.
func stderr(cmd *cobra.Command) io.Writer {
	if w := cmd.ErrOrStderr(); w != nil {
		return w
	}
	return os.Stderr
}
