package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/sleuth-research/sleuth/behaviour"
)

// printBehaviour writes a run's overall behaviour, one metric a line.
func printBehaviour(w io.Writer, s *behaviour.Summary) {
	if s == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "behaviour (all questions)\t\t")
	for _, r := range s.Rows() {
		fmt.Fprintf(tw, "  %s\t%s\t\n", r.Label, r.Format())
	}
	tw.Flush()
}

// printBehaviourDiff writes two runs' behaviour side by side with B − A.
func printBehaviourDiff(w io.Writer, a, b *behaviour.Summary) {
	if a == nil || b == nil {
		fmt.Fprintln(w, "behaviour: not recorded in both runs (runs made before behaviour metrics)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "behaviour on the shared questions\tA\tB\tB − A\t")
	ra, rb := a.Rows(), b.Rows()
	for i := range ra {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", ra[i].Label, ra[i].Format(), rb[i].Format(), behaviour.FormatDiff(ra[i], rb[i]))
	}
	tw.Flush()
}
