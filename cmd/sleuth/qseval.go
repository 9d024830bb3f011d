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
	Policy    string             `json:"policy"`
	EM        eval.Interval      `json:"em"`
	F1        float64            `json:"f1"`
	Questions int                `json:"questions"`
	EMByHops  map[string]float64 `json:"em_by_hops"`
	Searches  map[string]float64 `json:"searches_by_hops"` // mean searches per question by hop count
	// MultiHopEM is exact match over the 2- and 3-hop questions alone.
	MultiHopEM eval.Interval `json:"multi_hop_em"`
	results    []eval.Result
}

// evalTable is the quickstart's result: every policy on the held-out
// world, and the comparisons the issue asks for.
type evalTable struct {
	HeldOutSeed int64       `json:"held_out_seed"`
	Policies    []policyRow `json:"policies"`
	// GRPOMinusSFT is the paired difference in exact match on the 2- and
	// 3-hop questions, with its bootstrap interval.
	GRPOMinusSFT eval.Paired `json:"rl_minus_sft_multi_hop"`
	// RLOverRetrieveOnce is the RL policy's multi-hop EM divided by the
	// retrieve-once baseline's.
	RLOverRetrieveOnce float64 `json:"rl_over_retrieve_once_multi_hop"`
	Seconds            float64 `json:"seconds"`
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
func heldOut(ctx context.Context, dir string, cfg runConfig, perHop int) (*world.World, *bm25.Index, []eval.Question, error) {
	w, err := world.Generate(world.Config{Seed: heldOutSeed(cfg.Seed), Entities: cfg.World.Entities, Questions: cfg.World.Questions})
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err := openOrBuildIndex(ctx, filepath.Join(dir, "heldout-index"), w.Passages)
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
		qs = append(qs, eval.Question{ID: q.ID, Question: q.Question, Answers: q.Answers, Supporting: q.Supporting, Hops: q.Hops, Dataset: "held-out"})
	}
	return w, ix, qs, nil
}

// evaluatePolicies answers the held-out questions with each policy, greedily,
// through eval.Run (resumable: OUT/eval/NAME/results.jsonl).
func evaluatePolicies(ctx context.Context, dir string, r *trainRun, perHop int, errw io.Writer) (evalTable, error) {
	t := evalTable{HeldOutSeed: heldOutSeed(r.cfg.Seed)}
	w, ix, qs, err := heldOut(ctx, dir, r.cfg, perHop)
	if err != nil {
		return t, err
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
		return t, err
	}
	final, err := load(r.path("policy"))
	if err != nil {
		return t, err
	}
	runs := []struct {
		name   string
		client llm.Client
		tools  map[string]agent.Tool
	}{
		{"no retrieval (SFT policy, empty search)", sft, searchTools(noHits{})},
		{"SFT", sft, tools},
		{"RL (" + r.cfg.RL.Algorithm + ")", final, tools},
		{"oracle", rl.NewOracle(w.Questions, r.tok.Encode, r.tok.Decode), tools},
	}
	for _, run := range runs {
		fmt.Fprintf(errw, "evaluating %s on %d held-out questions\n", run.name, len(qs))
		runner := &agent.Runner{Preset: greedy, Policy: run.client, Tools: run.tools}
		res, err := eval.Run(ctx, runner, qs, eval.RunOptions{Out: filepath.Join(dir, "eval", slug(run.name)), Concurrency: 64, Progress: errw})
		if err != nil {
			return t, err
		}
		t.Policies = append(t.Policies, rowOf(run.name, res))
	}
	once, err := retrieveOnce(ctx, w, ix, qs)
	if err != nil {
		return t, err
	}
	t.Policies = append(t.Policies[:1], append([]policyRow{rowOf("retrieve once (question as query, best-supported entity)", once)}, t.Policies[1:]...)...)
	rlRow, sftRow := t.Policies[3], t.Policies[2]
	a, b := multiHop(rlRow.results), multiHop(sftRow.results)
	if t.GRPOMinusSFT, err = (eval.Bootstrap{}).PairedDiff(a, b); err != nil {
		return t, err
	}
	if base := t.Policies[1].MultiHopEM.Mean; base > 0 {
		t.RLOverRetrieveOnce = rlRow.MultiHopEM.Mean / base
	}
	return t, nil
}

// retrieveOnce is the classic pipeline: search once with the question, then
// answer with the world entity best supported by the top passages.
func retrieveOnce(ctx context.Context, w *world.World, ix *bm25.Index, qs []eval.Question) ([]eval.Result, error) {
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	hits, err := ix.Search(ctx, texts, 3)
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

func multiHop(rs []eval.Result) []float64 {
	var out []float64
	for _, r := range rs {
		if r.Hops == 2 || r.Hops == 3 {
			out = append(out, r.EM)
		}
	}
	return out
}

func rowOf(name string, rs []eval.Result) policyRow {
	row := policyRow{Policy: name, Questions: len(rs), EMByHops: map[string]float64{}, Searches: map[string]float64{}, results: rs}
	var em, f1 []float64
	n := map[string]float64{}
	for _, r := range rs {
		em, f1 = append(em, r.EM), append(f1, r.F1)
		h := strconv.Itoa(r.Hops)
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
	fmt.Fprintf(w, "\nheld-out world (seed %d), greedy decoding, exact match with 95%% bootstrap intervals:\n\n", t.HeldOutSeed)
	fmt.Fprintf(w, "%-58s %-20s %-20s %5s  %-17s %s\n", "policy", "EM", "EM 2–3 hops", "F1", "EM by hops 1/2/3", "searches by hops 1/2/3")
	for _, p := range t.Policies {
		fmt.Fprintf(w, "%-58s %-20s %-20s %5.1f  %-17s %s\n", p.Policy, iv(p.EM), iv(p.MultiHopEM), 100*p.F1,
			fmt.Sprintf("%.0f/%.0f/%.0f", 100*p.EMByHops["1"], 100*p.EMByHops["2"], 100*p.EMByHops["3"]),
			fmt.Sprintf("%.2f/%.2f/%.2f", p.Searches["1"], p.Searches["2"], p.Searches["3"]))
	}
	d := t.GRPOMinusSFT.Diff
	fmt.Fprintf(w, "\nRL − SFT on 2–3-hop questions: %+.1f points [%+.1f, %+.1f] (paired bootstrap, p = %.3f); RL ÷ retrieve-once: %.2f×\n",
		100*d.Mean, 100*d.Lo, 100*d.Hi, t.GRPOMinusSFT.PValue, t.RLOverRetrieveOnce)
}

func iv(i eval.Interval) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*i.Mean, 100*i.Lo, 100*i.Hi)
}
