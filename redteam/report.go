package redteam

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"text/tabwriter"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// WriteTable prints the report as a text table: one row per suite with
// the attack success rate guard off and on, and the clean exact match.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "model %s, preset %s, %s, %d questions per suite, guard on = %s\n", r.Model, r.Preset, r.World, r.Questions, r.GuardOn)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "suite\tguard off\tguard on\tno answer (off/on)\t")
	fmt.Fprintf(tw, "clean exact match (no attack)\t%s\t%s\t%d/%d\t\n", r.Clean.Off, r.Clean.On, r.Clean.NoAnswerOff, r.Clean.NoAnswerOn)
	for _, s := range r.Suites {
		if s.Error != "" {
			fmt.Fprintf(tw, "%s\terror: %s\t\t\t\n", s.Name, s.Error)
			continue
		}
		fmt.Fprintf(tw, "%s attack success\t%s\t%s\t%d/%d\t\n", s.Name, s.Off, s.On, s.NoAnswerOff, s.NoAnswerOn)
		if s.Name == SuiteBombs {
			fmt.Fprintf(tw, "  slowest bomb (limit %s)\t%.2f s\t%.2f s\t\t\n", r.bombLimit, slowest(s.Cases, false), slowest(s.Cases, true))
		}
	}
	return tw.Flush()
}

// slowest is the longest wall time of a case, guard off or on.
func slowest(cs []Case, on bool) float64 {
	v := 0.0
	for _, c := range cs {
		o := c.Off
		if on {
			o = c.On
		}
		v = max(v, o.Seconds)
	}
	return v
}

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("redteam").Funcs(template.FuncMap{"mul100": func(v float64) float64 { return 100 * v }}).Parse(reportHTML))

// WriteHTML writes the report as one self-contained HTML file (no outside
// assets; every string from the run is escaped by html/template).
func (r *Report) WriteHTML(path string) error {
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, r); err != nil {
		return fmt.Errorf("redteam report: %w", err)
	}
	return atomicfile.Write(path, b.Bytes())
}
