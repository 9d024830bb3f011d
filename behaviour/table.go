package behaviour

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable writes a run's overall behaviour, one metric a line.
func WriteTable(w io.Writer, s *Summary) {
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

// WriteDiff writes two runs' behaviour side by side with B − A (a nil
// summary: a run made before behaviour metrics).
func WriteDiff(w io.Writer, a, b *Summary) {
	if a == nil || b == nil {
		fmt.Fprintln(w, "behaviour: not recorded in both runs (runs made before behaviour metrics)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "behaviour on the shared questions\tA\tB\tB − A\t")
	ra, rb := a.Rows(), b.Rows()
	for i := range ra {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", ra[i].Label, ra[i].Format(), rb[i].Format(), FormatDiff(ra[i], rb[i]))
	}
	tw.Flush()
}
