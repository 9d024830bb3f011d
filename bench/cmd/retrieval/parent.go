package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/bench/engine"
)

func defaultEngines() []string { return engine.Names() }

// engineResult is one engine's rows of the report: its build, then its
// serving figures on each query mix.
type engineResult struct {
	Engine     string  `json:"engine"`
	Error      string  `json:"error,omitempty"`
	IndexBytes int64   `json:"index_bytes"`
	IndexMB    float64 `json:"index_mb"`
	// BytesPerPassage is IndexBytes over the passages indexed.
	BytesPerPassage float64 `json:"index_bytes_per_passage"`
	buildResult
	Mixes []mixResult `json:"mixes"`
}

// mixResult is one engine served on one query mix.
type mixResult struct {
	// Mix is "" for the queries of -query-min-rank.
	Mix string `json:"mix,omitempty"`
	serveResult
	// TopKOverlap is the mean share of the reference engine's top-k ids
	// on this mix that this engine also returns, over the first Overlap
	// queries.
	TopKOverlap float64 `json:"top_k_overlap"`
}

// runMixes is the mixes a run serves each engine on: "" stands for the
// -query-min-rank queries when no -mix was given.
func runMixes(c config) []string {
	if len(c.Mixes) == 0 {
		return []string{""}
	}
	return c.Mixes
}

// machine describes where a run happened, since figures mean little
// without it (and the machine may be shared).
type machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go_version"`
	LoadAvg   string `json:"load_avg_at_start"`
	Time      string `json:"time"`
}

type report struct {
	Config    config         `json:"config"`
	Machine   machine        `json:"machine"`
	Reference string         `json:"overlap_reference"`
	Engines   []engineResult `json:"engines"`
	Ratios    []ratio        `json:"ratios"`
}

func runParent(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) error {
	names := strings.Split(o.engines, ",")
	for _, n := range names {
		if _, err := engine.New(n); err != nil {
			return err
		}
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "sleuth-bench-*")
		if err != nil {
			return fmt.Errorf("create index directory: %w", err)
		}
		dir = d
		if !o.keep {
			defer os.RemoveAll(d)
		}
	}
	rep := report{Config: o.cfg, Machine: describeMachine(), Reference: names[0]}
	failed := 0
	for _, name := range names {
		r := measure(ctx, o, name, filepath.Join(dir, name), stderr, log)
		if r.Error != "" {
			failed++
			log.Error("engine failed", "engine", name, "err", r.Error)
		}
		rep.Engines = append(rep.Engines, r)
	}
	fillOverlap(rep.Engines, o.cfg.K)
	rep.Ratios = ratios(rep.Engines)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeTable(stdout, rep)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d engines failed", failed, len(names))
	}
	return nil
}

// measure builds and serves one engine, each in its own child process, and
// removes its index afterwards unless -keep.
func measure(ctx context.Context, o options, name, dir string, stderr io.Writer, log *slog.Logger) engineResult {
	r := engineResult{Engine: name}
	// Only the engine's own subdirectory is cleared, never -dir itself.
	if err := os.RemoveAll(dir); err != nil {
		r.Error = fmt.Sprintf("clear %s: %v", dir, err)
		return r
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	log.Info("building", "engine", name, "passages", o.cfg.Passages, "dir", dir)
	if err := runChild(ctx, o.cfg, phaseBuild, name, dir, stderr, &r.buildResult); err != nil {
		r.Error = err.Error()
		return r
	}
	size, err := dirSize(dir)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.IndexBytes, r.IndexMB = size, float64(size)/1e6
	r.BytesPerPassage = float64(size) / float64(o.cfg.Passages)
	for _, m := range runMixes(o.cfg) {
		log.Info("serving", "engine", name, "mix", m, "queries", o.cfg.Queries, "rounds", o.cfg.Rounds)
		c := o.cfg
		c.Mixes = nil
		if m != "" {
			c.Mixes = []string{m}
		}
		mr := mixResult{Mix: m}
		if err := runChild(ctx, c, phaseServe, name, dir, stderr, &mr.serveResult); err != nil {
			r.Error = err.Error()
			return r
		}
		r.Mixes = append(r.Mixes, mr)
	}
	return r
}

// runChild re-executes this binary for one phase and decodes the JSON it
// prints into out. The child's log goes straight to stderr.
func runChild(ctx context.Context, c config, phase, name, dir string, stderr io.Writer, out any) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe,
		"-phase", phase, "-engine", name, "-index", dir,
		"-passages", strconv.Itoa(c.Passages), "-queries", strconv.Itoa(c.Queries),
		"-k", strconv.Itoa(c.K), "-seed", strconv.FormatUint(c.Seed, 10),
		"-rounds", strconv.Itoa(c.Rounds), "-overlap", strconv.Itoa(c.Overlap),
		"-budget", c.Budget.String(), "-query-min-rank", strconv.Itoa(c.QueryMinRank), "-mix", strings.Join(c.Mixes, ","))
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s child: %w", name, phase, err)
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s child: decode its output %s: %w", name, phase, describe(buf.Bytes()), err)
	}
	return nil
}

// dirSize is the total apparent size of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of index %s: %w", dir, err)
	}
	return n, nil
}

// fillOverlap sets each engine's TopKOverlap on each mix against the
// first engine's lists on that mix, and drops the lists, which are too
// long to report.
func fillOverlap(rs []engineResult, k int) {
	if len(rs) == 0 {
		return
	}
	for i := range rs {
		for j := range rs[i].Mixes {
			var ref [][]string
			if j < len(rs[0].Mixes) {
				ref = rs[0].Mixes[j].TopK
			}
			rs[i].Mixes[j].TopKOverlap = overlap(ref, rs[i].Mixes[j].TopK, k)
		}
	}
	for i := range rs {
		for j := range rs[i].Mixes {
			rs[i].Mixes[j].TopK = nil
		}
	}
}

// overlap is the mean over queries of |a ∩ b| / min(k, |a|), skipping
// queries where a is empty; 0 when there is nothing to compare.
func overlap(a, b [][]string, k int) float64 {
	var sum float64
	n := 0
	for i := range min(len(a), len(b)) {
		if len(a[i]) == 0 {
			continue
		}
		in := make(map[string]bool, len(a[i]))
		for _, id := range a[i] {
			in[id] = true
		}
		common := 0
		for _, id := range b[i] {
			if in[id] {
				common++
			}
		}
		sum += float64(common) / float64(min(k, len(a[i])))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Time: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}
