package rl

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// TraceSample is one sampled training episode as the report shows it: its
// tokens in order, each marked as the policy's (trained, coloured by the
// advantage) or the environment's (never trained).
type TraceSample struct {
	Step      int          `json:"step"`
	ID        string       `json:"id"`
	Reward    float64      `json:"reward"`
	Advantage float64      `json:"advantage"`
	Answer    string       `json:"answer"`
	Status    agent.Status `json:"status"`
	Tokens    []TokenView  `json:"tokens"`
}

// TokenView is one token of a sample.
type TokenView struct {
	Text   string  `json:"t"`
	Policy bool    `json:"p,omitempty"` // carries loss weight
	Adv    float64 `json:"a,omitempty"` // a policy token's advantage
}

// SampleTrace records an episode's main-role token stream with its loss
// mask, decoded token by token. Policy tokens carry adv, or their turn's
// advantage where turnAdv (by turn) has one.
func SampleTrace(step int, ep *agent.Episode, reward, adv float64, turnAdv []float64, decode func(int) string) (TraceSample, error) {
	if _, _, err := ep.Tokens(agent.MainRole); err != nil {
		return TraceSample{}, err
	}
	s := TraceSample{Step: step, ID: ep.ID, Reward: reward, Advantage: adv, Answer: ep.Answer, Status: ep.Status}
	for _, seg := range ep.Context {
		if seg.Role != agent.MainRole {
			continue
		}
		a := adv
		if seg.Turn >= 0 && seg.Turn < len(turnAdv) {
			a = turnAdv[seg.Turn]
		}
		for _, id := range seg.TokenIDs {
			tv := TokenView{Text: decode(id), Policy: seg.Source == agent.Policy}
			if tv.Policy {
				tv.Adv = a
			}
			s.Tokens = append(s.Tokens, tv)
		}
	}
	return s, nil
}

// Series is one curve of the report: values by step.
type Series struct {
	Name   string
	Steps  []int
	Values []float64
}

// Report is what the training report shows.
type Report struct {
	Title    string
	Summary  []string // lines under the title
	Pre      string   // preformatted text under them (a results table)
	Curves   []Series
	Warnings []Warning
	Samples  []TraceSample
}

//go:embed report.html.tmpl
var reportTmpl string

// WriteReport renders r as a self-contained HTML page (inline SVG curves,
// no scripts) at path, atomically.
func WriteReport(path string, r Report) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"chart": chart,
		"shade": shade,
		"f3":    func(v float64) string { return fmt.Sprintf("%.3f", v) },
	}).Parse(reportTmpl)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, r); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return atomicfile.Write(path, b.Bytes())
}

// chart draws a series as an inline SVG line chart with its range.
func chart(s Series) template.HTML {
	const w, h, pad = 320.0, 120.0, 4.0
	if len(s.Values) == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return ""
	}
	if hi == lo {
		hi = lo + 1
	}
	first, last := s.Steps[0], s.Steps[len(s.Steps)-1]
	span := float64(max(1, last-first))
	var pts strings.Builder
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		x := pad + (w-2*pad)*float64(s.Steps[i]-first)/span
		y := h - pad - (h-2*pad)*(v-lo)/(hi-lo)
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf(`<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s"><rect width="100%%" height="100%%" fill="#fafafa"/><polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="%s"/><text x="4" y="12" font-size="10">%s</text><text x="4" y="%.0f" font-size="10">%s</text></svg>`,
		w, h, w, h, template.HTMLEscapeString(s.Name), pts.String(),
		template.HTMLEscapeString(fmt.Sprintf("%.4g", hi)), h-4, template.HTMLEscapeString(fmt.Sprintf("%.4g · steps %d–%d", lo, first, last))))
}

// shade colours a policy token by its episode's advantage: green when
// reinforced, red when discouraged, stronger with the magnitude.
func shade(adv float64) template.CSS {
	a := math.Min(1, math.Abs(adv)/2)
	if adv >= 0 {
		return template.CSS(fmt.Sprintf("background: rgba(22,163,74,%.2f)", 0.15+0.6*a))
	}
	return template.CSS(fmt.Sprintf("background: rgba(220,38,38,%.2f)", 0.15+0.6*a))
}
