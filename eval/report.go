package eval

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

//go:embed report.html.tmpl
var reportHTML string

// WriteReport writes dir/summary.json, dir/report.md and a single
// self-contained dir/report.html (inline SVG plots, no outside assets):
// per-dataset scores with intervals, the turns histogram, reward
// components, and the worst questions with their traces. Every string
// from a run (questions, answers, retrieved text) is escaped by
// html/template.
func WriteReport(dir string, s Summary, results []Result) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "summary.json"), append(b, '\n')); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "report.md"), []byte(markdown(s))); err != nil {
		return err
	}
	worst := worstResults(results, 10)
	traces, err := loadTraces(filepath.Join(dir, tracesFile), worst)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	t, err := template.New("report").Funcs(template.FuncMap{"pct": pct, "f2": func(v float64) string { return fmt.Sprintf("%.2f", v) }}).Parse(reportHTML)
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	data := reportData{Summary: s, Scores: scoreChart(s), Turns: turnsChart(results), Rewards: rewardChart(s.Overall), Worst: worst, Traces: traces,
		Behaviour: behaviourTable(s)}
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, "report.html"), buf.Bytes())
}

type reportData struct {
	Summary Summary
	Scores  template.HTML
	Turns   template.HTML
	Rewards template.HTML
	Worst   []Result
	Traces  map[string]*agent.Episode
	// Behaviour is the behaviour table: a header of datasets, then one
	// row per metric (label first); nil when no result recorded behaviour.
	Behaviour [][]string
}

// behaviourTable lays out every dataset's behaviour summary (and the
// overall one) as metric rows, the rows behaviour.Summary.Rows defines.
func behaviourTable(s Summary) [][]string {
	ds := append(slices.Clone(s.Datasets), s.Overall)
	if len(s.Datasets) == 1 {
		ds = ds[:1]
	}
	if s.Overall.Behaviour == nil {
		return nil
	}
	head := []string{"behaviour"}
	var cols [][]behaviour.Row
	for _, d := range ds {
		if d.Behaviour == nil {
			continue
		}
		head = append(head, d.Dataset)
		cols = append(cols, d.Behaviour.Rows())
	}
	out := [][]string{head}
	for i, r := range cols[0] {
		row := []string{r.Label}
		for _, c := range cols {
			row = append(row, c[i].Format())
		}
		out = append(out, row)
	}
	return out
}

func pct(v float64) string { return fmt.Sprintf("%.1f", 100*v) }

func markdown(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Evaluation: preset %s, model %s\n\n", s.Info.Preset, s.Info.Model)
	if g := s.Info.LeakageGuard; g != nil {
		fmt.Fprintf(&b, "%s.\n\n", strings.ToUpper(g.String()[:1])+g.String()[1:])
	}
	fmt.Fprintf(&b, "| dataset | questions | EM | F1 | cover-EM | evidence F1 | retrieval recall | turns | tokens | errors |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, d := range append(slices.Clone(s.Datasets), s.Overall) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %.2f | %.0f | %d |\n", d.Dataset, d.Questions, ci(d.EM), ci(d.F1), ci(d.CoverEM),
			optCI(d.EvidenceF1), optCI(d.RetrievalRecall), d.Turns.Mean, d.Tokens.Mean, d.Errors)
	}
	b.WriteString("\nPercentages with bootstrap 95% intervals. Traces: traces.jsonl; per question: results.jsonl.\n")
	if t := behaviourTable(s); t != nil {
		b.WriteString("\n## Behaviour\n\n")
		for i, row := range t {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
			if i == 0 {
				b.WriteString(strings.Repeat("|---", len(row)) + "|\n")
			}
		}
	}
	return b.String()
}

func ci(i Interval) string { return fmt.Sprintf("%s [%s, %s]", pct(i.Mean), pct(i.Lo), pct(i.Hi)) }

func optCI(i *Interval) string {
	if i == nil {
		return "–"
	}
	return ci(*i)
}

// worstResults are the lowest-F1 results (failed ones first), most tokens
// first among ties.
func worstResults(rs []Result, n int) []Result {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b Result) int {
		if a.F1 != b.F1 {
			if a.F1 < b.F1 {
				return -1
			}
			return 1
		}
		return b.Tokens - a.Tokens
	})
	return out[:min(n, len(out))]
}

func loadTraces(path string, want []Result) (map[string]*agent.Episode, error) {
	ids := map[string]bool{}
	for _, r := range want {
		ids[r.ID] = true
	}
	out := map[string]*agent.Episode{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("traces %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var probe struct{ ID string }
		if json.Unmarshal(sc.Bytes(), &probe) != nil || !ids[probe.ID] {
			continue // a cut-off last line or a question not shown
		}
		var ep agent.Episode
		if err := json.Unmarshal(sc.Bytes(), &ep); err == nil {
			out[ep.ID] = &ep
		}
	}
	return out, sc.Err()
}

// scoreChart draws EM and F1 per dataset as bars with interval whiskers.
func scoreChart(s Summary) template.HTML {
	ds := append(slices.Clone(s.Datasets), s.Overall)
	const w, h, top, left = 640, 260, 20, 40
	barW := float64(w-left-20) / float64(len(ds)) / 2.5
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="scores">`, w, h+40, w, h+40)
	for i := 0; i <= 4; i++ {
		y := top + float64(h-top)*float64(4-i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="4" y="%.1f" class="axis">%d%%</text>`, left, w, y, y, y+4, i*25)
	}
	yOf := func(v float64) float64 { return top + float64(h-top)*(1-v) }
	for i, d := range ds {
		x0 := float64(left) + 10 + float64(i)*barW*2.5
		for k, m := range []Interval{d.EM, d.F1} {
			x := x0 + float64(k)*barW
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar%d"><title>%s %s</title></rect>`,
				x, yOf(m.Mean), barW-2, yOf(0)-yOf(m.Mean), k, template.HTMLEscapeString(d.Dataset), ci(m))
			cx := x + (barW-2)/2
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="whisker"/>`, cx, cx, yOf(m.Lo), yOf(m.Hi))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="label">%s</text>`, x0, h+16, template.HTMLEscapeString(d.Dataset))
	}
	b.WriteString(`<text x="450" y="14" class="legend0">■ EM</text><text x="510" y="14" class="legend1">■ F1</text></svg>`)
	return template.HTML(b.String())
}

// turnsChart is a histogram of turns per question.
func turnsChart(rs []Result) template.HTML {
	counts := map[int]int{}
	most, maxT := 1, 0
	for _, r := range rs {
		counts[r.Turns]++
		most = max(most, counts[r.Turns])
		maxT = max(maxT, r.Turns)
	}
	const w, h = 640, 180
	bw := float64(w-60) / float64(maxT+1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="turns">`, w, h+30, w, h+30)
	for t := 0; t <= maxT; t++ {
		bh := float64(h-20) * float64(counts[t]) / float64(most)
		x := 40 + float64(t)*bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar0"><title>%d turns: %d questions</title></rect><text x="%.1f" y="%d" class="label">%d</text>`,
			x, float64(h)-bh, bw-3, bh, t, counts[t], x+bw/2-4, h+16, t)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// rewardChart shows the mean of each reward component.
func rewardChart(d DatasetSummary) template.HTML {
	if len(d.Reward) == 0 {
		return ""
	}
	names := make([]string, 0, len(d.Reward))
	lo, hi := 0.0, 1.0
	for n, v := range d.Reward {
		names = append(names, n)
		lo, hi = min(lo, v), max(hi, v)
	}
	slices.Sort(names)
	const w, rowH = 640, 22
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="reward components">`, w, rowH*len(names)+10, w, rowH*len(names)+10)
	scale := func(v float64) float64 { return 200 + 400*(v-lo)/(hi-lo) }
	for i, n := range names {
		v := d.Reward[n]
		x0, x1 := scale(0), scale(v)
		fmt.Fprintf(&b, `<text x="4" y="%d" class="label">%s</text><rect x="%.1f" y="%d" width="%.1f" height="14" class="bar%d"/><text x="%.1f" y="%d" class="label">%.3f</text>`,
			rowH*i+16, template.HTMLEscapeString(n), min(x0, x1), rowH*i+4, max(1, abs(x1-x0)), i%2, max(x0, x1)+4, rowH*i+16, v)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
