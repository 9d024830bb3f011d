package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/server/serverbench"
)

func runBenchAgentServe(cmd *cobra.Command, requests, concurrency, turns int, latency time.Duration, jsonOut bool) error {
	res, err := serverbench.Agent(cmd.Context(), requests, concurrency, turns, latency)
	if err != nil {
		return err
	}
	if jsonOut {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	res.WriteText(cmd.OutOrStdout())
	return nil
}
