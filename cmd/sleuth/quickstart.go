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
	split       string
	seed        int64
	fast        bool
	fromScratch bool
	forceNew    bool
	jsonOut     bool
	perHop      int
}

func newQuickstartCmd() *cobra.Command {
	var f quickstartFlags
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Train a research agent and evaluate it against baselines (the main job, on embedded defaults)",
		Long: `quickstart runs sleuth end to end on the embedded defaults, offline, on one
CPU. It starts from the built-in base checkpoint (a small policy that sleuth's
own recipe pre-trained on synthetic worlds until it reads: examples/base,
remade by 'sleuth train --config base'), then trains by SFT on oracle traces
of 1- and 2-hop questions on a fresh world per step, GRPO on 1- to 3-hop
questions of a family of fresh worlds (searchr1 protocol, F1 + per-turn
progress reward), and the best-SFT baseline (SFT continued for about the
compute RL used). It evaluates on a world whose seed no training phase used,
against baselines: no retrieval, retrieve once then answer (as many passages
as the agents read), the SFT policy, best SFT and the oracle. It prints the
table (with --json, as one JSON object on the last line), writes
OUT/report.html (curves, health warnings, sampled episodes, the table) and
saves the policies, printing how to ask and serve them.

--seed changes every world, the data order and sampling (not the base);
--from-scratch pre-trains the base too, at --seed. --split validation
evaluates on the validation world instead of the test world: tune recipes
there, report on test. A killed quickstart continues where it stopped when
run again with the same --out; a directory made by another config or seed is
refused (--force-new discards it). --fast runs the one-minute version.`,
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
	fl.IntVar(&f.perHop, "questions-per-hop", 0, "held-out questions of each hop count 1–3 (default 100; 30 with --fast)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the table as one JSON object on the last line")
	fl.BoolVar(&f.fromScratch, "from-scratch", false, "pre-train the policy too (the base recipe, examples/train/base.yaml, at --seed) instead of starting from the built-in base checkpoint")
	fl.BoolVar(&f.forceNew, "force-new", false, "discard the run in --out and start anew (otherwise a run of another config or seed there is refused)")
	fl.StringVar(&f.split, "split", splitTest, "evaluation world: test (the one the quickstart reports) or validation (the one recipes are tuned on)")
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
	if f.fromScratch {
		if cfg, err = fromScratch(cfg); err != nil {
			return err
		}
		name += " from scratch"
	}
	if cmd.Flags().Changed("seed") {
		cfg.Seed = f.seed
	}
	if f.split != splitTest && f.split != splitValidation {
		return fmt.Errorf("--split %q: want test or validation", f.split)
	}
	if f.forceNew {
		if err := discardRun(f.out, []string{"train", "eval", "eval-validation", "heldout-index", "validation-index", "report.html"}); err != nil {
			return err
		}
	}
	perHop := f.perHop
	if perHop == 0 {
		perHop = 100
		if f.fast {
			perHop = 30
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
	table, err := evaluatePolicies(ctx, f.out, r, f.split, perHop, errw)
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

// fromScratch turns a config that starts from a base into the full
// pipeline: the base recipe's pre-training (and its tokenizer and model
// shape), then the config's SFT and RL.
func fromScratch(cfg runConfig) (runConfig, error) {
	if cfg.Base == "" {
		return cfg, nil
	}
	b, err := loadTrainConfig("base")
	if err != nil {
		return cfg, err
	}
	cfg.Base = ""
	cfg.Tokenizer, cfg.Model, cfg.LR, cfg.LRDecaySteps, cfg.Pretrain = b.Tokenizer, b.Model, b.LR, b.LRDecaySteps, b.Pretrain
	return cfg, cfg.validate()
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
