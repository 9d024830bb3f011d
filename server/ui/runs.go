package ui

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/rl"
)

// Run is one directory of the runs directory as the runs list shows it.
type Run struct {
	Name     string
	Kind     string // "evaluation", "training" or "traces"
	Eval     *eval.Summary
	Steps    int     // training: metrics lines
	Last     *Metric // training: the last line
	Episodes int     // lines of traces.jsonl
	Warnings int     // training: health warnings so far
}

// Metric is the part of a metrics.jsonl line the UI plots.
type Metric struct {
	Phase    string       `json:"phase"`
	Step     int          `json:"step"`
	Loss     float64      `json:"loss"`
	RL       *rlStats     `json:"rl,omitempty"`
	Warnings []rl.Warning `json:"warnings,omitempty"`
}

type rlStats struct {
	Reward       float64 `json:"reward"`
	EM           float64 `json:"em"`
	KL           float64 `json:"kl"`
	Entropy      float64 `json:"entropy"`
	ClipFraction float64 `json:"clip_fraction"`
	ResponseLen  float64 `json:"response_tokens"`
	Searches     float64 `json:"searches"`
	Turns        float64 `json:"turns"`
}

// validName says whether name is a run directory's own name: no path.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && fs.ValidPath(name)
}

// listRuns reads every run directory under root.
func listRuns(root *os.Root) ([]Run, error) {
	ents, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("reading the runs directory: %w", err)
	}
	var out []Run
	for _, e := range ents {
		if !e.IsDir() || !validName(e.Name()) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if r, ok := readRun(root, e.Name()); ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Run) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// readRun describes one run; ok is false for a directory that holds no
// run files.
func readRun(root *os.Root, name string) (Run, bool) {
	r := Run{Name: name}
	if b, err := root.ReadFile(name + "/summary.json"); err == nil {
		var s eval.Summary
		if json.Unmarshal(b, &s) == nil {
			r.Kind, r.Eval = "evaluation", &s
		}
	}
	if ms, err := readMetrics(root, name, 0); err == nil && len(ms) > 0 {
		r.Kind, r.Steps, r.Last = "training", len(ms), &ms[len(ms)-1]
		for _, m := range ms {
			r.Warnings += len(m.Warnings)
		}
	}
	if n, err := countLines(root, name+"/traces.jsonl"); err == nil {
		r.Episodes = n
		if r.Kind == "" {
			r.Kind = "traces"
		}
	}
	return r, r.Kind != ""
}

// readMetrics reads metrics.jsonl from line from on. A last line being
// written (no newline yet) is left for the next read.
func readMetrics(root *os.Root, name string, from int) ([]Metric, error) {
	f, err := root.Open(name + "/metrics.jsonl")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Metric
	br := bufio.NewReader(f)
	for i := 0; ; i++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // a partial last line waits
		}
		if err != nil {
			return out, err
		}
		if i < from {
			continue
		}
		var m Metric
		if json.Unmarshal(line, &m) != nil {
			m = Metric{Phase: "unreadable"}
		}
		out = append(out, m)
	}
}

func countLines(root *os.Root, path string) (int, error) {
	f, err := root.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	n := 0
	for {
		_, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			n++
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return n, nil
		default:
			return n, err
		}
	}
}

// readEpisodes reads traces.jsonl lines [from, from+n); lines that do not
// parse are skipped. It returns the episodes and each one's line index.
func readEpisodes(root *os.Root, name string, from, n int) ([]*agent.Episode, []int, error) {
	f, err := root.Open(name + "/traces.jsonl")
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var eps []*agent.Episode
	var idx []int
	for i := 0; sc.Scan() && len(eps) < n; i++ {
		if i < from {
			continue
		}
		var ep agent.Episode
		if json.Unmarshal(sc.Bytes(), &ep) == nil {
			eps, idx = append(eps, &ep), append(idx, i)
		}
	}
	return eps, idx, sc.Err()
}
