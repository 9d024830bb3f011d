package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/world"
)

type quickstartFlags struct {
	out, config string
	seed        int64
	fast        bool
	jsonOut     bool
	perHop      int
}

func newQuickstartCmd() *cobra.Command {
	var f quickstartFlags
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Train a research agent from nothing and evaluate it against baselines (the main job, on embedded defaults)",
		Long: `quickstart runs sleuth end to end on the embedded defaults, offline, on one
CPU: it generates a family of synthetic multi-hop worlds and indexes them,
trains a tokenizer and a small policy from scratch (pre-training on passages
of fresh worlds, SFT on oracle traces of 1- and 2-hop questions, then GRPO on
2- and 3-hop questions with the searchr1 protocol and an F1 + format reward),
and evaluates on the questions of a world whose seed no training phase used,
against baselines: no retrieval, retrieve once then answer, the SFT policy and
the oracle. It prints the table (with --json, as one JSON object on the last
line), writes OUT/report.html (curves, health warnings, sampled episodes,
the table) and saves the policy, printing how to ask and serve it.

A killed quickstart continues where it stopped when run again with the same
--out. --fast runs a CI-sized version (minutes; too short to learn).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "sleuth-quickstart", "run directory (training run, evaluation, report)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of everything: worlds, model, sampling")
	fl.BoolVar(&f.fast, "fast", false, "the CI-sized run: every phase, a few steps each")
	fl.StringVar(&f.config, "config", "", "training config instead of the built-in quickstart (or fast) one")
	fl.IntVar(&f.perHop, "questions-per-hop", 0, "held-out questions of each hop count 1–3 (default 100; 12 with --fast)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the table as one JSON object on the last line")
	return cmd
}

func runQuickstart(ctx context.Context, cmd *cobra.Command, f quickstartFlags) error {
	start := time.Now()
	out, errw := cmd.OutOrStdout(), stderr(cmd)
	name := f.config
	if name == "" {
		name = "quickstart"
		if f.fast {
			name = "fast"
		}
	}
	cfg, err := loadTrainConfig(name)
	if err != nil {
		return err
	}
	if cmd.Flags().Changed("seed") {
		cfg.Seed = f.seed
	}
	perHop := f.perHop
	if perHop == 0 {
		perHop = 100
		if f.fast {
			perHop = 12
		}
	}
	r := &trainRun{cfg: cfg, dir: filepath.Join(f.out, "train"), errw: errw}
	fmt.Fprintf(errw, "training (%s config, seed %d) in %s\n", name, cfg.Seed, r.dir)
	resume := rl.HasCheckpoint(r.path("checkpoints"))
	defer r.close()
	if err := r.open(ctx, resume); err != nil {
		return err
	}
	if err := r.run(ctx); err != nil {
		r.writeReport()
		return err
	}
	table, err := evaluatePolicies(ctx, f.out, r, perHop, errw)
	if err != nil {
		return err
	}
	table.Seconds = time.Since(start).Seconds()
	var text strings.Builder
	printTable(&text, table)
	r.extra = text.String()
	if err := r.writeReport(); err != nil {
		return err
	}
	if err := copyFile(r.path("report.html"), filepath.Join(f.out, "report.html")); err != nil {
		return err
	}
	fmt.Fprint(errw, text.String())
	q := "Who founded the employer of the person who wrote The Last Orchard of Evofund?"
	if len(r.train) > 0 {
		q = r.train[len(r.train)-1].Question
	}
	fmt.Fprintf(errw, "\nreport: %s\npolicy: %s\nask it:   sleuth ask %q --preset %s --index %s --llm local:%s --trace\nserve it: sleuth serve --model %s --index %s\n",
		filepath.Join(f.out, "report.html"), r.path("policy"), q, r.path("preset.yaml"), r.path("index"), r.path("policy"), r.path("policy"), r.path("index"))
	if f.jsonOut {
		return writeJSON(out, table)
	}
	fmt.Fprint(out, text.String())
	return nil
}

func passageSeq(ps []corpus.Passage) func(func(corpus.Passage, error) bool) {
	return func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return atomicfile.Write(to, b)
}

func goldFound(q world.Question, hits []search.Hit) (all, anyGold bool) {
	got := map[string]bool{}
	for _, h := range hits {
		got[h.Passage.ID] = true
	}
	all = len(q.Supporting) > 0
	for _, id := range q.Supporting {
		if got[id] {
			anyGold = true
		} else {
			all = false
		}
	}
	return all, anyGold
}

func describe(q world.Question, hits []search.Hit, guess string, ok bool) string {
	var b strings.Builder
	gold := map[string]bool{}
	for _, id := range q.Supporting {
		gold[id] = true
	}
	mark := "✗"
	if ok {
		mark = "✓"
	}
	fmt.Fprintf(&b, "Q (%d-hop %s): %s\n  gold answer: %s   retrieval-only guess: %s %s\n", q.Hops, q.Type, q.Question, q.Answers[0], guess, mark)
	for i, h := range hits[:min(3, len(hits))] {
		g := " "
		if gold[h.Passage.ID] {
			g = "*"
		}
		fmt.Fprintf(&b, "  %s %d. [%.2f] %s: %s\n", g, i+1, h.Score, h.Passage.Title, clip(h.Passage.Text, 90))
	}
	return b.String()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// candidateReader answers from retrieved passages alone: every entity name
// and literal of the world is a candidate, scored by the reciprocal ranks of
// the passages mentioning it, skipping those the question already names.
// It is the floor a research agent must beat, not a model.
type candidateReader struct {
	cands []string
}

func newCandidateReader(w *world.World) *candidateReader {
	seen := map[string]bool{}
	r := &candidateReader{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			r.cands = append(r.cands, s)
		}
	}
	for _, e := range w.Entities {
		add(e.Name)
	}
	for _, f := range w.Facts {
		add(f.Value)
	}
	return r
}

// yesNo reports whether a question asks for yes or no.
func yesNo(q string) bool {
	first, _, _ := strings.Cut(q, " ")
	switch strings.ToLower(first) {
	case "is", "are", "was", "were", "did", "do", "does", "has", "have":
		return true
	}
	return false
}

// containsWord reports whether s contains w delimited by non-letters.
func containsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		off = i + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func (r *candidateReader) answer(question string, hits []search.Hit) string {
	if yesNo(question) {
		return "yes"
	}
	best, bestScore := "", 0.0
	for _, c := range r.cands {
		if containsWord(question, c) {
			continue
		}
		score := 0.0
		for rank, h := range hits[:min(5, len(hits))] {
			if containsWord(h.Passage.Text, c) {
				score += 1 / float64(rank+1)
			}
		}
		if score > bestScore || (score == bestScore && score > 0 && len(c) > len(best)) {
			best, bestScore = c, score
		}
	}
	return best
}

func matchesAny(guess string, answers []string) bool {
	for _, a := range answers {
		if strings.EqualFold(strings.TrimSpace(guess), strings.TrimSpace(a)) {
			return true
		}
	}
	return false
}
