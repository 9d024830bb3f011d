package main

import "github.com/spf13/cobra"

func newSearchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "search",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
}
