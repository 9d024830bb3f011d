package main

import (
	"io"

	"github.com/spf13/cobra"
)

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

// report is a benchmark's result that prints itself as text.
type report interface{ WriteText(w io.Writer) }

// printReport prints a benchmark's report as JSON or as text, or returns
// the error that stopped the benchmark.
func printReport(cmd *cobra.Command, rep report, err error, asJSON bool) error {
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), rep)
	}
	rep.WriteText(cmd.OutOrStdout())
	return nil
}
