package main

import "github.com/spf13/cobra"

// newBenchCmd groups the performance benchmarks; each subcommand lives in
// its own bench_*.go file and prints ratios against a baseline measured in
// the same run.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sleuth's performance against baselines run alongside",
	}
	cmd.AddCommand(benchSubcommands()...)
	return cmd
}
