package main

import "github.com/spf13/cobra"

func newWorldCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "world",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return nil
		},
	}
}
