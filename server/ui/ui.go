// Package ui is `sleuth ui`: a local web app over a runs directory. It
// lists evaluations, training runs and trace files with their headline
// numbers, compares two evaluations question by question (paired
// bootstrap differences, every question whose EM changed), draws a training run's curves (updated live while `sleuth
// train` appends to metrics.jsonl, health warnings marked), and shows
// single episodes: every turn, tool call and hit, and the policy's context
// coloured by who wrote it (the RL loss mask).
//
// Pages are rendered on the server with html/template, so every string
// from a model, page or corpus is escaped; the one script is a small
// dependency-free file the binary serves itself (no CDN), and a Content
// Security Policy forbids inline script. Run names are single path
// elements read through an os.Root: nothing outside the runs directory
// can be reached.
package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
)

//go:embed templates/*.tmpl static/*
var assets embed.FS

// Config tunes a Server. Zero fields take the defaults noted.
type Config struct {
	Logger      *slog.Logger // default slog.Default()
	MaxEpisodes int          // episodes listed per page (default 200)
}

// Server is the UI's http.Handler.
type Server struct {
	root *os.Root
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
}

// New serves the runs under dir. Close releases the directory.
func New(dir string, cfg Config) (*Server, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("ui: runs directory: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxEpisodes <= 0 {
		cfg.MaxEpisodes = 200
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"num":   func(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) },
		"ms":    func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e6, 'f', 1, 64) + " ms" },
		"mean":  meanLogprob,
		"inc":   func(i int) int { return i + 1 },
		"curve": curve,
	}).ParseFS(assets, "templates/*.tmpl")
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("ui: templates: %w", err)
	}
	s := &Server{root: root, cfg: cfg, tmpl: tmpl, mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("GET /{$}", s.handleRuns)
	s.mux.HandleFunc("GET /compare", s.handleCompare)
	s.mux.HandleFunc("GET /runs/{name}", s.handleRun)
	s.mux.HandleFunc("GET /runs/{name}/episodes/{i}", s.handleEpisode)
	s.mux.HandleFunc("GET /api/runs/{name}/metrics", s.handleMetrics)
	return s, nil
}

// Close releases the runs directory.
func (s *Server) Close() error { return s.root.Close() }

// ServeHTTP sets the security headers and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, name, data); err != nil {
		s.cfg.Logger.Warn("ui: rendering", "page", name, "err", err)
	}
}

func (s *Server) handleRuns(w http.ResponseWriter, _ *http.Request) {
	runs, err := listRuns(s.root)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.render(w, "runs.tmpl", runs)
}

// runName is the request's run, or "" after answering 404.
func (s *Server) runName(w http.ResponseWriter, r *http.Request) string {
	name := r.PathValue("name")
	if !validName(name) {
		http.NotFound(w, r)
		return ""
	}
	if st, err := s.root.Stat(name); err != nil || !st.IsDir() {
		http.NotFound(w, r)
		return ""
	}
	return name
}

type runPage struct {
	Run      Run
	Metrics  []Metric
	Series   []series
	Marks    []mark
	Episodes []*agent.Episode
	Lines    []int
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	name := s.runName(w, r)
	if name == "" {
		return
	}
	run, _ := readRun(s.root, name)
	p := runPage{Run: run}
	if run.Kind == "training" {
		p.Metrics, _ = readMetrics(s.root, name, 0)
		p.Series = allSeries(p.Metrics)
		p.Marks = marks(p.Metrics)
	}
	if run.Episodes > 0 {
		p.Episodes, p.Lines, _ = readEpisodes(s.root, name, 0, s.cfg.MaxEpisodes)
	}
	s.render(w, "run.tmpl", p)
}

type episodePage struct {
	Run     string
	Line    int
	Episode *agent.Episode
	Roles   []string
}

func (s *Server) handleEpisode(w http.ResponseWriter, r *http.Request) {
	name := s.runName(w, r)
	if name == "" {
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 {
		http.NotFound(w, r)
		return
	}
	eps, lines, err := readEpisodes(s.root, name, i, 1)
	if err != nil || len(eps) == 0 || lines[0] != i {
		http.NotFound(w, r)
		return
	}
	s.render(w, "episode.tmpl", episodePage{Run: name, Line: i, Episode: eps[0], Roles: eps[0].Roles()})
}

// handleMetrics serves metrics.jsonl lines from ?from= on, for the live
// curves.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	name := s.runName(w, r)
	if name == "" {
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	ms, err := readMetrics(s.root, name, max(from, 0))
	if err != nil {
		http.Error(w, "no metrics", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"from": from, "metrics": ms})
}

// series is one curve of a training run.
type series struct {
	Name   string
	Points [][2]float64 // line index, value
}

// seriesNames are the curves drawn, in order; the script draws the same.
var seriesNames = []string{"loss", "reward", "em", "kl", "entropy", "clip_fraction", "response_tokens", "searches"}

func allSeries(ms []Metric) []series {
	out := make([]series, len(seriesNames))
	for i, n := range seriesNames {
		out[i].Name = n
	}
	for x, m := range ms {
		add := func(i int, v float64) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				out[i].Points = append(out[i].Points, [2]float64{float64(x), v})
			}
		}
		if m.Loss != 0 {
			add(0, m.Loss)
		}
		if st := m.RL; st != nil {
			for i, v := range []float64{st.Reward, st.EM, st.KL, st.Entropy, st.ClipFraction, st.ResponseLen, st.Searches} {
				add(i+1, v)
			}
		}
	}
	return out
}

// curve is a series as an SVG polyline's points in a 300×100 box whose
// x axis spans the run's n metrics lines.
func curve(s series, n int) string {
	if len(s.Points) == 0 {
		return ""
	}
	x0, x1 := 0.0, float64(n-1)
	y0, y1 := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		y0, y1 = min(y0, p[1]), max(y1, p[1])
	}
	var b strings.Builder
	for _, p := range s.Points {
		x, y := 0.0, 50.0
		if x1 > x0 {
			x = 300 * (p[0] - x0) / (x1 - x0)
		}
		if y1 > y0 {
			y = 95 - 90*(p[1]-y0)/(y1-y0)
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return strings.TrimSpace(b.String())
}

func meanLogprob(lp []float64) string {
	if len(lp) == 0 {
		return ""
	}
	s := 0.0
	for _, v := range lp {
		s += v
	}
	return strconv.FormatFloat(s/float64(len(lp)), 'f', 3, 64)
}

// mark is a health warning's place on the curves' x axis (0–300).
type mark struct {
	X     float64
	Step  int
	Kind  string
	Saw   string
	Fixes string
}

func marks(ms []Metric) []mark {
	var out []mark
	for i, m := range ms {
		for _, w := range m.Warnings {
			x := 0.0
			if len(ms) > 1 {
				x = 300 * float64(i) / float64(len(ms)-1)
			}
			out = append(out, mark{X: x, Step: w.Step, Kind: w.Kind, Saw: w.Saw, Fixes: w.Remedy})
		}
	}
	return out
}
