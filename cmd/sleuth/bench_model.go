package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/model/modelbench"
)

func newBenchModelCmd() *cobra.Command {
	var asJSON bool
	var steps int
	var modelPath string
	var quickstart bool
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Measure the transformer engine: training tokens/s and GFLOP/s against a matmul peak, generation tokens/s",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if steps <= 0 {
				return fmt.Errorf("bench model: --steps must be positive")
			}
			if quickstart {
				rep, err := modelbench.RunQuickstart(stderr(cmd), steps)
				return printReport(cmd, rep, err, asJSON)
			}
			rep, err := modelbench.Run(cmd.Context(), stderr(cmd), modelPath, steps)
			return printReport(cmd, rep, err, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as one JSON object")
	cmd.Flags().IntVar(&steps, "steps", 8, "timed training steps (the fastest is reported)")
	cmd.Flags().BoolVar(&quickstart, "quickstart", false, "measure only the matmul peak and the quickstart model's training step (4x1024, 2x1536)")
	cmd.Flags().StringVar(&modelPath, "gen-model", filepath.Join("..", "shared", "data", "models", "aidreams260K.bin"), "llama2.c checkpoint for the generation figures")
	return cmd
}
