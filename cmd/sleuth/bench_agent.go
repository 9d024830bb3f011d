package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent/agentbench"
	"github.com/sleuth-research/sleuth/server/serverbench"
)

func newBenchAgentCmd() *cobra.Command {
	var (
		episodes, concurrency, turns int
		jsonOut, serve               bool
		latency                      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Measure the episode runner: episodes/s and the share of time in sleuth's own orchestration",
		Long: `Runs many searchr1 episodes against the BM25 index of a generated world with a
zero-latency scripted policy (it searches turns-1 times, then answers), and
reports episodes per second and how the summed episode time splits between
generation, retrieval and the runner's own orchestration (goal: under 5%).

With --serve it measures the agent server instead (server/agentapi): that many
streamed chat requests over loopback, --concurrency in flight, the policy
taking --latency per turn, and reports what the server adds to each episode
(goal ≤ 2%) and how soon the first event arrives (goal ≤ 50 ms).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serve {
				res, err := serverbench.Agent(cmd.Context(), episodes, concurrency, turns, latency)
				return printReport(cmd, res, err, jsonOut)
			}
			res, err := agentbench.Runner(cmd.Context(), stderr(cmd), episodes, concurrency, turns)
			return printReport(cmd, res, err, jsonOut)
		},
	}
	cmd.Flags().IntVar(&episodes, "episodes", 10000, "episodes to run")
	cmd.Flags().IntVar(&concurrency, "concurrency", 64, "episodes in flight")
	cmd.Flags().IntVar(&turns, "turns", 4, "policy turns per episode (the last answers)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&serve, "serve", false, "measure the agent server's overhead over streamed episodes instead")
	cmd.Flags().DurationVar(&latency, "latency", 50*time.Millisecond, "with --serve: the scripted policy's time per turn")
	return cmd
}
