package main

import "github.com/spf13/cobra"

func newIndexCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "index",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
}
