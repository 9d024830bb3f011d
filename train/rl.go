package train

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// rlWorld returns RL's questions (chain questions of rl.min_hops to
// rl.max_hops), the index their episodes search and its world when the
// family has one (oneWorld): the training family's, or with rl.worlds
// fresh a family of the same shape on seeds no other phase uses, indexed
// in rl-index. The caller closes the index unless it is r.ix.
func (r *Run) rlWorld(ctx context.Context) ([]world.Question, *bm25.Index, *world.World, error) {
	qs, ix, ws := r.train, r.ix, r.worlds
	if r.Cfg.RL.Worlds != "train" {
		fam, fresh, passages, err := r.worldFamily(r.Cfg.Seed + offsetRL)
		if err != nil {
			return nil, nil, nil, err
		}
		qs, ws = fresh, fam
		if ix, err = openOrBuildIndex(ctx, r.Path("rl-index"), passages); err != nil {
			return nil, nil, nil, fmt.Errorf("the RL worlds' index: %w", err)
		}
	}
	return chainQuestions(qs, r.Cfg.RL.MinHops, r.Cfg.RL.MaxHops), ix, oneWorld(ws), nil
}

// reward is the run's reward function (the config's reward preset).
func (r *Run) reward() (reward.Func, error) {
	rc, err := reward.LoadConfig(r.Cfg.Reward)
	if err != nil {
		return nil, err
	}
	return rc.Build(nil)
}

// runRL is the reinforcement-learning phase on the preset's reward.
func (r *Run) runRL(ctx context.Context) error {
	c := r.Cfg.RL
	fn, err := r.reward()
	if err != nil {
		return err
	}
	var ref *model.Model
	if c.Loss.KL != "" {
		if ref, err = model.Load(r.Path("sft")); err != nil {
			return fmt.Errorf("the KL reference (the SFT policy): %w", err)
		}
		ref.SetMatmuls(r.k)
	}
	// RL runs at a constant, lower learning rate.
	tc := r.tr.Settings()
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = c.LR, c.LR, 0, 0
	tc.RestartStep, tc.RestartLR, tc.RestartEvery = 0, 0, 0
	qs, ix, w, err := r.rlWorld(ctx)
	if err != nil {
		return err
	}
	if ix != r.ix {
		defer ix.Close()
	}
	if len(qs) == 0 {
		return fmt.Errorf("no RL questions of %d to %d hops", c.MinHops, c.MaxHops)
	}
	p := r.preset
	p.Sampling.Temperature = c.Temperature
	r.pol.Deterministic = true // a rollout must not depend on how requests were batched
	client := local.New(r.pol, r.tok, local.Config{NoBOS: true})
	cfg := c.Config // validated: the estimator is known
	cfg.Seed = r.Cfg.Seed
	tools, browses, closeTools, err := r.episodeTools(ix, w)
	if err != nil {
		return err
	}
	defer closeTools()
	loop := &rl.Loop{Policy: r.pol, Ref: ref, Trainer: r.tr, Reward: fn, Value: r.value,
		Runner: &agent.Runner{Preset: p, Policy: client, Tools: tools}, Cfg: cfg}
	if cfg.Guide {
		loop.Guide = r.teacherWith(r.preset, qs, ix, tools, browses)
	}
	samples, err := os.OpenFile(r.Path("samples.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer samples.Close()
	loop.OnEpisodes = func(step int, eps []*agent.Episode, rewards, adv []float64, turnAdv [][]float64) {
		if step%max(1, c.Steps/4) != 0 && step != c.Steps-1 {
			return
		}
		for _, i := range []int{0, len(eps) - 1} {
			var ta []float64
			if turnAdv != nil {
				ta = turnAdv[i]
			}
			if s, err := rl.SampleTrace(step, eps[i], rewards[i], adv[i], ta, r.tok.DecodeToken); err == nil {
				b, _ := json.Marshal(s)
				samples.Write(append(b, '\n'))
			}
		}
	}
	return r.runPhase(ctx, phaseRL, c.Steps, func(ctx context.Context, step int) error {
		rng := r.stepRNG(phaseRL, step)
		batch := make([]rl.Sample, c.Questions)
		for i := range batch {
			q := qs[rng.IntN(len(qs))]
			batch[i] = rl.Sample{ID: q.ID, Question: q.Question, Hops: q.Hops, Gold: reward.Gold{Question: q.Question, Answers: q.Answers, Supporting: q.Supporting}}
		}
		st, err := loop.Step(ctx, step, batch)
		if err != nil {
			return err
		}
		r.value = loop.Value
		ws := r.health.Observe(st)
		for _, w := range ws {
			fmt.Fprintf(r.Log, "warning: %s\n", w)
		}
		crops := ""
		if st.Crops != nil {
			crops = fmt.Sprintf(", crops %d (%.0f%% hold the answer)", st.Crops.Crops, 100*st.Crops.WithAnswer)
		}
		fmt.Fprintf(r.Log, "%s step %d: reward %.3f, EM %.2f, searches %.2f%s, %0.f tokens, entropy %.2f, clip %.2f, kl %.4f, no-signal %.0f%%\n",
			c.Estimator, step, st.Reward, st.EM, st.Searches, crops, st.ResponseLen, st.Entropy, st.ClipFraction, st.KL, 100*st.NoSignal)
		return r.log(metricLine{Phase: phaseRL, Step: step, RL: &st, Warnings: ws})
	})
}
