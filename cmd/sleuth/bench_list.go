package main

import "github.com/spf13/cobra"

// benchSubcommands lists the bench subcommands. Add yours here.
func benchSubcommands() []*cobra.Command {
	return []*cobra.Command{
		newBenchRetrievalCmd(),
		newBenchModelCmd(),
		newBenchAgentCmd(),
		newBenchDenseCmd(),
		newBenchEnvCmd(),
	}
}
