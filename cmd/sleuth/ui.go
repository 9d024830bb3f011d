package main

import (
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/server/ui"
)

func newUICmd() *cobra.Command {
	var runs, addr string
	var gf guardFlags
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Look at runs in a browser: evaluations, live training curves, episodes token by token",
		Long: `ui serves a local web app over a directory of runs (each a directory that
sleuth eval --out or sleuth train --out wrote): the runs with their headline
numbers, a training run's curves updating live while it trains (health
warnings marked), and every episode of a traces.jsonl with its turns, tool
calls, hits and the policy's context coloured by loss mask. Everything is
served by the binary; it listens on loopback unless told otherwise.`,
		Example: `  sleuth ui --runs runs/ --addr 127.0.0.1:8090`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runs == "" {
				return errors.New("--runs DIR is required")
			}
			s, err := ui.New(runs, ui.Config{Logger: slog.Default()})
			if err != nil {
				return err
			}
			defer s.Close()
			gc, err := gf.config()
			if err != nil {
				return err
			}
			return serveHTTP(cmd.Context(), addr, s, cmd, gc)
		},
	}
	gf.register(cmd)
	cmd.Flags().StringVar(&runs, "runs", "", "directory of runs to show")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on")
	return cmd
}
