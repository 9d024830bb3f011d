package main

import "github.com/spf13/cobra"

func newQuickstartCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "quickstart",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
}
