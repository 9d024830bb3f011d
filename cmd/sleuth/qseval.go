package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// policyRow is one policy's line of the quickstart table.
type policyRow struct {
	Policy string `json:"policy"`
	// Role is what the row is in the comparisons: none, once, sft,
	// best-sft, rl or oracle.
	Role      string             `json:"role"`
	EM        eval.Interval      `json:"em"`
	Correct   int                `json:"correct"` // questions answered exactly`
	F1        float64            `json:"f1"`
	Questions int                `json:"questions"`
	EMByHops  map[string]float64 `json:"em_by_hops"`
	Searches  map[string]float64 `json:"searches_by_hops"` // mean searches per question by hop count
	// MultiHopEM is exact match over the 2- and 3-hop questions alone.
	MultiHopEM      eval.Interval `json:"multi_hop_em"`
	MultiHopCorrect int           `json:"multi_hop_correct"`
	MultiHop        int           `json:"multi_hop_questions"`
	results         []eval.Result
}

// evalTable is the quickstart's result: every policy on the held-out
// world, and the comparisons the issue asks for.
type evalTable struct {
	// Split is the world evaluated on: test (what the quickstart reports)
	// or validation (what recipes are tuned on); HeldOutSeed its seed.
	Split       string      `json:"split"`
	HeldOutSeed int64       `json:"held_out_seed"`
	Policies    []policyRow `json:"policies"`
	// GRPOMinusSFT is the paired difference in exact match on the 2- and
	// 3-hop questions, with its bootstrap interval.
	GRPOMinusSFT eval.Paired `json:"rl_minus_sft_multi_hop"`
	// RLOverRetrieveOnce is the RL policy's multi-hop EM divided by the
	// retrieve-once baseline's (0 when retrieve-once answers none).
	RLOverRetrieveOnce float64 `json:"rl_over_retrieve_once_multi_hop"`
	// RLMinusBestSFT is the paired difference in exact match over every
	// question between the RL policy and the best-SFT baseline (SFT given
	// RL's compute), when the run trained one.
	RLMinusBestSFT *eval.Paired `json:"rl_minus_best_sft,omitempty"`
	// OneHop are the paired differences on 1-hop questions between the
	// trained policies and the two baselines: what even the one-minute
	// --fast run must show.
	OneHop  []comparison `json:"one_hop"`
	Seconds float64      `json:"seconds"`
}

// noHits is a retriever that finds nothing: the no-retrieval baseline runs
// the same policy and protocol with an empty search.
type noHits struct{}

func (noHits) Search(_ context.Context, qs []string, _ int) ([][]search.Hit, error) {
	return make([][]search.Hit, len(qs)), nil
}

// heldOut builds the evaluation world (a seed no training phase used), its
// index, and its questions: up to perHop chain questions of each hop count
// from 1 to 3 (comparisons are a different skill, left out of the table).
func heldOut(ctx context.Context, dir string, cfg runConfig, split string, perHop int) (*world.World, *bm25.Index, []eval.Question, error) {
	seed, ixName := heldOutSeed(cfg.Seed), "heldout-index"
	if split == splitValidation {
		seed, ixName = validationSeed(cfg.Seed), "validation-index"
	}
	w, err := world.Generate(world.Config{Seed: seed, Entities: cfg.World.Entities, Questions: cfg.World.Questions})
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err := openOrBuildIndex(ctx, filepath.Join(dir, ixName), w.Passages)
	if err != nil {
		return nil, nil, nil, err
	}
	count := map[int]int{}
	var qs []eval.Question
	for _, q := range w.Questions {
		if q.Type != world.Chain || q.Hops < 1 || q.Hops > 3 || count[q.Hops] >= perHop {
			continue
		}
		count[q.Hops]++
		qs = append(qs, eval.Question{ID: q.ID, Question: q.Question, Answers: q.Answers, Supporting: q.Supporting, Hops: q.Hops, Dataset: split})
	}
	return w, ix, qs, nil
}

// The worlds the quickstart evaluates on.
const (
	splitTest       = "test"
	splitValidation = "validation"
)

// evaluatePolicies answers the held-out questions of split with each
// policy, greedily, through eval.Run (resumable: OUT/eval[-validation]/NAME/results.jsonl).
func evaluatePolicies(ctx context.Context, dir string, r *trainRun, split string, perHop int, errw io.Writer) (evalTable, error) {
	w, ix, qs, err := heldOut(ctx, dir, r.cfg, split, perHop)
	if err != nil {
		return evalTable{}, err
	}
	defer ix.Close()
	greedy := r.preset
	greedy.Sampling.Temperature = 0
	tools := searchTools(ix)
	load := func(path string) (llm.Client, error) {
		m, err := model.Load(path)
		if err != nil {
			return nil, err
		}
		m.SetMatmuls(r.k)
		m.Deterministic = true // the same seed gives the same table
		tok, err := tokenizer.Load(filepath.Join(path, "tokenizer.json"))
		if err != nil {
			return nil, err
		}
		return local.New(m, tok, local.Config{NoBOS: true}), nil
	}
	sft, err := load(r.path("sft"))
	if err != nil {
		return evalTable{}, err
	}
	final, err := load(r.path("policy"))
	if err != nil {
		return evalTable{}, err
	}
	type policy struct {
		name, role string
		client     llm.Client
		tools      map[string]agent.Tool
	}
	runs := []policy{
		{"no retrieval (SFT policy, empty search)", "none", sft, searchTools(noHits{})},
		{"SFT", "sft", sft, tools},
	}
	if r.cfg.SFT.ContinueSteps > 0 {
		best, err := load(r.path("best-sft"))
		if err != nil {
			return evalTable{}, err
		}
		runs = append(runs, policy{fmt.Sprintf("best SFT (SFT + %d steps, RL's compute)", r.cfg.SFT.ContinueSteps), "best-sft", best, tools})
	}
	runs = append(runs,
		policy{"RL (" + r.cfg.RL.Algorithm + ")", "rl", final, tools},
		policy{"oracle", "oracle", rl.NewOracle(w.Questions, r.tok.Encode, r.tok.Decode), tools})
	evalDir := filepath.Join(dir, "eval")
	if split == splitValidation {
		evalDir += "-validation"
	}
	var rows []policyRow
	for _, run := range runs {
		fmt.Fprintf(errw, "evaluating %s on %d %s questions\n", run.name, len(qs), split)
		runner := &agent.Runner{Preset: greedy, Policy: run.client, Tools: run.tools}
		res, err := eval.Run(ctx, runner, qs, eval.RunOptions{Out: filepath.Join(evalDir, run.role), Concurrency: 64, Progress: errw})
		if err != nil {
			return evalTable{}, err
		}
		rows = append(rows, rowOf(run.name, run.role, res))
	}
	// As many passages as the agents read a search: a fair baseline.
	once, err := retrieveOnce(ctx, w, ix, qs, greedy.TopK)
	if err != nil {
		return evalTable{}, err
	}
	rows = append(rows[:1], append([]policyRow{rowOf(fmt.Sprintf("retrieve once (question as query, top %d, best-supported entity)", greedy.TopK), "once", once)}, rows[1:]...)...)
	seed := heldOutSeed(r.cfg.Seed)
	if split == splitValidation {
		seed = validationSeed(r.cfg.Seed)
	}
	return buildTable(split, seed, rows)
}

// buildTable computes the table's comparisons from its rows (found by
// role): RL − SFT on 2–3 hops, RL ÷ retrieve-once there, and RL − best SFT
// over every question.
func buildTable(split string, seed int64, rows []policyRow) (evalTable, error) {
	t := evalTable{Split: split, HeldOutSeed: seed, Policies: rows}
	byRole := map[string]policyRow{}
	for _, p := range rows {
		byRole[p.Role] = p
	}
	rlRow, sftRow := byRole["rl"], byRole["sft"]
	var err error
	if t.GRPOMinusSFT, err = (eval.Bootstrap{}).PairedDiff(multiHop(rlRow.results), multiHop(sftRow.results)); err != nil {
		return t, err
	}
	if base := byRole["once"].MultiHopEM.Mean; base > 0 {
		t.RLOverRetrieveOnce = rlRow.MultiHopEM.Mean / base
	}
	if best, ok := byRole["best-sft"]; ok {
		d, err := (eval.Bootstrap{}).PairedDiff(emWhere(rlRow.results, anyHops), emWhere(best.results, anyHops))
		if err != nil {
			return t, err
		}
		t.RLMinusBestSFT = &d
	}
	for _, a := range []string{"sft", "rl"} {
		for _, b := range []string{"once", "none"} {
			d, err := (eval.Bootstrap{}).PairedDiff(emWhere(byRole[a].results, oneHop), emWhere(byRole[b].results, oneHop))
			if err != nil {
				return t, err
			}
			t.OneHop = append(t.OneHop, comparison{a + " − " + b, d})
		}
	}
	return t, nil
}

// comparison is one named paired difference.
type comparison struct {
	Name   string      `json:"name"`
	Paired eval.Paired `json:"paired"`
}

// retrieveOnce is the classic pipeline: search once with the question, then
// answer with the world entity best supported by the top passages.
func retrieveOnce(ctx context.Context, w *world.World, ix *bm25.Index, qs []eval.Question, k int) ([]eval.Result, error) {
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	hits, err := ix.Search(ctx, texts, k)
	if err != nil {
		return nil, err
	}
	reader := newCandidateReader(w)
	out := make([]eval.Result, len(qs))
	for i, q := range qs {
		guess := reader.answer(q.Question, hits[i])
		out[i] = eval.Result{ID: q.ID, Question: q.Question, Answers: q.Answers, Hops: q.Hops, Prediction: guess, Searches: 1, Status: agent.Answered}
		for _, g := range q.Answers {
			out[i].EM = max(out[i].EM, b2f(reward.ExactMatch(guess, g)))
			out[i].F1 = max(out[i].F1, reward.TokenF1(guess, g).F1)
		}
	}
	return out, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func anyHops(int) bool  { return true }
func oneHop(h int) bool { return h == 1 }

// emWhere is the exact match of the results whose hop count keep accepts.
func emWhere(rs []eval.Result, keep func(hops int) bool) []float64 {
	var out []float64
	for _, r := range rs {
		if keep(r.Hops) {
			out = append(out, r.EM)
		}
	}
	return out
}

func multiHop(rs []eval.Result) []float64 {
	return emWhere(rs, func(h int) bool { return h == 2 || h == 3 })
}

func rowOf(name, role string, rs []eval.Result) policyRow {
	row := policyRow{Policy: name, Role: role, Questions: len(rs), EMByHops: map[string]float64{}, Searches: map[string]float64{}, results: rs}
	var em, f1 []float64
	n := map[string]float64{}
	for _, r := range rs {
		em, f1 = append(em, r.EM), append(f1, r.F1)
		h := strconv.Itoa(r.Hops)
		if r.EM == 1 {
			row.Correct++
		}
		if r.Hops == 2 || r.Hops == 3 {
			row.MultiHop++
			if r.EM == 1 {
				row.MultiHopCorrect++
			}
		}
		n[h]++
		row.EMByHops[h] += r.EM
		row.Searches[h] += float64(r.Searches)
	}
	for h, c := range n {
		row.EMByHops[h] /= c
		row.Searches[h] /= c
	}
	var bs eval.Bootstrap
	row.EM, row.F1 = bs.Mean(em), eval.Mean(f1)
	row.MultiHopEM = bs.Mean(multiHop(rs))
	return row
}

func slug(s string) string {
	s, _, _ = strings.Cut(s, " (")
	return strings.ReplaceAll(strings.ToLower(s), " ", "-")
}

// printTable writes the table people read.
func printTable(w io.Writer, t evalTable) {
	fmt.Fprintf(w, "\n%s world (seed %d), greedy decoding, exact match with 95%% bootstrap intervals:\n\n", t.Split, t.HeldOutSeed)
	fmt.Fprintf(w, "%-62s %-20s %-27s %5s  %-17s %s\n", "policy", "EM", "EM 2–3 hops (correct)", "F1", "EM by hops 1/2/3", "searches by hops 1/2/3")
	for _, p := range t.Policies {
		fmt.Fprintf(w, "%-62s %-20s %-27s %5.1f  %-17s %s\n", p.Policy, iv(p.EM), fmt.Sprintf("%s %d/%d", iv(p.MultiHopEM), p.MultiHopCorrect, p.MultiHop), 100*p.F1,
			fmt.Sprintf("%.0f/%.0f/%.0f", 100*p.EMByHops["1"], 100*p.EMByHops["2"], 100*p.EMByHops["3"]),
			fmt.Sprintf("%.2f/%.2f/%.2f", p.Searches["1"], p.Searches["2"], p.Searches["3"]))
	}
	d := t.GRPOMinusSFT.Diff
	ratio := fmt.Sprintf("%.2f×", t.RLOverRetrieveOnce)
	for _, p := range t.Policies {
		if p.Role == "once" && p.MultiHopCorrect == 0 {
			ratio = "undefined (retrieve-once answers none of them)"
		}
	}
	fmt.Fprintf(w, "\nRL − SFT on 2–3-hop questions: %+.1f points [%+.1f, %+.1f] (paired bootstrap, p = %.3f); RL ÷ retrieve-once there: %s\n",
		100*d.Mean, 100*d.Lo, 100*d.Hi, t.GRPOMinusSFT.PValue, ratio)
	fmt.Fprint(w, "On 1-hop questions:")
	for i, c := range t.OneHop {
		sep := ";"
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %s %+.1f [%+.1f, %+.1f]", sep, c.Name, 100*c.Paired.Diff.Mean, 100*c.Paired.Diff.Lo, 100*c.Paired.Diff.Hi)
	}
	fmt.Fprintln(w, " (none: no retrieval, once: retrieve once)")
	if b := t.RLMinusBestSFT; b != nil {
		fmt.Fprintf(w, "RL − best SFT on every question: %+.1f points [%+.1f, %+.1f] (paired bootstrap, p = %.3f)\n",
			100*b.Diff.Mean, 100*b.Diff.Lo, 100*b.Diff.Hi, b.PValue)
	}
}

func iv(i eval.Interval) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*i.Mean, 100*i.Lo, 100*i.Hi)
}
