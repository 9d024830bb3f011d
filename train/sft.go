package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/world"
)

// sftStep imitates the oracle's shortest correct search path, run through
// the real runner and index so the token streams are exactly the policy's.
func (r *Run) sftStep(ctx context.Context, step int) error {
	return r.sftStepAs(ctx, phaseSFT, step, step)
}

// sftStepAs is SFT step data (its demonstrations and drills), logged as
// step of phase.
func (r *Run) sftStepAs(ctx context.Context, phase string, step, data int) error {
	var qs []world.Question
	var or *agent.Runner
	if r.Cfg.SFT.Worlds == "fresh" {
		w, err := stepWorld(r.Cfg.Seed+offsetSFTFresh+int64(data), true)
		if err != nil {
			return err
		}
		qs = chainQuestions(w.Questions, 1, r.Cfg.SFT.MaxHops)
		ix, err := stepIndex(ctx, r.Path("sft-index"), w)
		if err != nil {
			return fmt.Errorf("SFT step %d: %w", data, err)
		}
		defer ix.Close()
		var closeTools func()
		if or, closeTools, err = r.teacherRunner(r.preset, qs, ix, w); err != nil {
			return err
		}
		defer closeTools()
	} else {
		if r.oracle == nil {
			if r.sftQs = chainQuestions(r.train, 1, r.Cfg.SFT.MaxHops); len(r.sftQs) == 0 {
				return fmt.Errorf("no chain questions of at most %d hops to demonstrate", r.Cfg.SFT.MaxHops)
			}
			or, closeTools, err := r.teacherRunner(r.preset, r.sftQs, r.ix, oneWorld(r.worlds))
			if err != nil {
				return err
			}
			r.oracle, r.closeOracle = or, closeTools
		}
		qs, or = r.sftQs, r.oracle
	}
	rng := r.stepRNG(phaseSFT, data)
	picked := pickQuestions(qs, r.Cfg.SFT.Batch, rng)
	if shares := r.Cfg.SFT.HopShares; shares != nil {
		picked = pickByHops(qs, r.Cfg.SFT.Batch, shares, rng)
	}
	eps := or.RunMany(ctx, picked, r.Cfg.SFT.Batch)
	if err := ctx.Err(); err != nil {
		return err
	}
	answers := make(map[string][]string, len(qs))
	for _, q := range qs {
		answers[q.ID] = q.Answers
	}
	eps, dropped, err := r.demos.keep(eps, func(id string) []string { return answers[id] })
	if err != nil {
		return fmt.Errorf("SFT step %d: %w", data, err)
	}
	eps = roleViews(eps)
	var docs [][]int
	if r.Cfg.SFT.ReadRows > 0 {
		w, err := stepWorld(r.Cfg.Seed+offsetSFTRead+int64(data), r.Cfg.Pretrain.ReadChains > 0)
		if err != nil {
			return err
		}
		docs, _ = r.readDrills(w, rng, r.Cfg.SFT.ReadRows, true, r.Cfg.Pretrain.ReadChains)
	}
	t0 := time.Now()
	loss, err := rl.SFTMixStep(r.tr, eps, agent.MainRole, docs)
	if err != nil {
		return err
	}
	n := 0
	for _, ep := range eps {
		ids, _, _ := ep.Tokens(agent.MainRole)
		n += len(ids)
	}
	for _, d := range docs {
		n += len(d)
	}
	m := metricLine{Phase: phase, Step: step, Loss: loss, Tokens: n, TokensPS: float64(n) / time.Since(t0).Seconds(), Dropped: dropped}
	if err := r.probeAt(&m, data, r.Cfg.SFT.Steps+r.Cfg.SFT.ContinueSteps); err != nil {
		return err
	}
	return r.log(m)
}

// SearchTools is the tool set of every episode the run plays: search over ret.
func SearchTools(ret search.Retriever) map[string]agent.Tool {
	return map[string]agent.Tool{"search": agent.SearchTool{R: ret}}
}

func pickQuestions(qs []world.Question, n int, rng *rand.Rand) []agent.Question {
	out := make([]agent.Question, n)
	for i := range out {
		q := qs[rng.IntN(len(qs))]
		out[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	return out
}

// validShares reports whether shares is unset or holds one non-negative
// share per hop count up to maxHops with a positive sum.
func validShares(shares []float64, maxHops int) bool {
	if shares == nil {
		return true
	}
	sum := 0.0
	for _, v := range shares {
		if v < 0 {
			return false
		}
		sum += v
	}
	return len(shares) == maxHops && sum > 0
}

// pickByHops draws n questions, each of h hops with probability
// shares[h-1] (normalised over the hop counts qs holds), then uniformly
// among those. Multi-hop counts come first on the unit interval so that
// [1-s, s] draws exactly as a single multi-hop share s did.
func pickByHops(qs []world.Question, n int, shares []float64, rng *rand.Rand) []agent.Question {
	pools := make([][]world.Question, len(shares))
	for _, q := range qs {
		if q.Hops >= 1 && q.Hops <= len(shares) {
			pools[q.Hops-1] = append(pools[q.Hops-1], q)
		}
	}
	// Order: 2, 3, …, then 1.
	order := make([]int, 0, len(shares))
	for h := 1; h < len(shares); h++ {
		order = append(order, h)
	}
	order = append(order, 0)
	total := 0.0
	for _, h := range order {
		if len(pools[h]) > 0 {
			total += shares[h]
		}
	}
	out := make([]agent.Question, n)
	for i := range out {
		u, pool := rng.Float64()*total, []world.Question(nil)
		for _, h := range order {
			if len(pools[h]) == 0 || shares[h] == 0 {
				continue
			}
			pool = pools[h]
			if u < shares[h] {
				break
			}
			u -= shares[h]
		}
		if pool == nil {
			pool = qs
		}
		q := pool[rng.IntN(len(pool))]
		out[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	return out
}
