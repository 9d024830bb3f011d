package rl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/behaviour"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/reward"
)

// Sample is one training question with its gold.
type Sample struct {
	ID       string
	Question string
	Gold     reward.Gold
	Hops     int // gold hop count, 0 when unknown: labels the step's behaviour by hops
}

// Config sets a training loop.
type Config struct {
	Estimator   Estimator  `yaml:"algorithm"`             // default GRPO
	Group       int        `yaml:"group"`                 // episodes per question, G (default 4)
	Loss        LossConfig `yaml:",inline"`               // clip, aggregation, KL
	Epochs      int        `yaml:"epochs"`                // PPO epochs over each batch of episodes (default 1)
	Concurrency int        `yaml:"concurrency,omitempty"` // episodes in flight during rollouts (default all of the step's)
	Seed        int64      `yaml:"-"`                     // episode sampling seed; step s uses Seed + s·1,000,003
	// PPO's critic: GAE's γ and λ (defaults 1 and 0.95), the value head's
	// learning rate and fitting steps per batch (1e-2, 50).
	Gamma      float64 `yaml:"gamma,omitempty"`
	Lambda     float64 `yaml:"lambda,omitempty"`
	ValueLR    float64 `yaml:"value_lr,omitempty"`
	ValueSteps int     `yaml:"value_steps,omitempty"`
	// Guide adds the teacher's episode (Loop.Guide) to each question's
	// group: off-policy guidance, so a group the policy fails in every
	// rollout still has one success to learn from, weighted by its
	// advantage, while a group it already solves teaches nothing new.
	Guide bool `yaml:"guide,omitempty"`
	// GuideSFT adds an imitation term on the teacher's tokens: their
	// advantage is raised by this much, so each of them is also pushed up
	// as supervised fine-tuning would (RL and SFT in one update, as SRFT
	// and LUFFY do). 0: the teacher's episode counts by its advantage alone.
	GuideSFT float64 `yaml:"guide_sft,omitempty"`
}

// Loop trains Policy with reinforcement learning on agent episodes. The
// Runner's policy client must generate with Policy (for example a
// local.Client over it), so that rollouts always use the current weights.
type Loop struct {
	Policy  *model.Model
	Ref     *model.Model // frozen reference for the KL penalty; nil without KL
	Trainer Learner      // the policy's engine: its weights are Policy's, or copied into Policy after every step
	Runner  *agent.Runner
	Reward  reward.Func
	Cfg     Config
	// Guide plays the teacher for Cfg.Guide: its one episode per question
	// joins that question's group after the policy's rollouts.
	Guide *agent.Runner

	// OnEpisodes, when set, sees each step's episodes with their rewards
	// and advantages (per episode; zero under PPO, whose advantages are per
	// token; turnAdv, by episode and turn, is set when rewards arrived turn
	// by turn) before the update, for sampled trace views.
	OnEpisodes func(step int, eps []*agent.Episode, rewards, adv []float64, turnAdv [][]float64)
	// Value is PPO's critic; created on the first PPO step when nil. Save
	// it with the checkpoint (State.Value) to resume exactly.
	Value *ValueHead

	refTrainer *model.Trainer // forward passes of Ref
}

// StepStats report one training step.
type StepStats struct {
	Step         int                  `json:"step"`
	Episodes     int                  `json:"episodes"`
	Trained      int                  `json:"trained"` // episodes with a usable token stream
	Reward       float64              `json:"reward"`
	RewardStd    float64              `json:"reward_std"`
	Components   map[string]float64   `json:"components"`
	NoSignal     float64              `json:"no_signal_groups"` // share of groups whose rewards were all equal
	Statuses     map[agent.Status]int `json:"statuses"`
	ResponseLen  float64              `json:"response_tokens"` // policy tokens per episode
	Turns        float64              `json:"turns"`
	Searches     float64              `json:"searches"`
	Loss         float64              `json:"loss"`
	ClipFraction float64              `json:"clip_fraction"`
	KL           float64              `json:"kl"`
	ValueLoss    float64              `json:"value_loss,omitempty"` // PPO's critic fit (½·MSE)
	Entropy      float64              `json:"entropy"`              // mean surprisal of the policy tokens at rollout
	EM           float64              `json:"em"`                   // share of episodes whose answer matched exactly
	GradNorm     float64              `json:"grad_norm"`
	LR           float64              `json:"lr"`
	// Behaviour is how the step's episodes worked (package behaviour:
	// searches by hops and their slope, avoidance, format errors, evidence
	// use, duplicate queries, reasoning length and repetition, cost).
	Behaviour *behaviour.Summary `json:"behaviour,omitempty"`
	// Crops is how VRAG's region actions went: how many, and the share
	// whose text holds the gold answer.
	Crops *CropStats `json:"crops,omitempty"`
	// Roles holds, for multi-agent presets (MMOA), each agent role's mean
	// reward (the shared one plus its own terms) and its trained tokens.
	Roles map[string]RoleStats `json:"roles,omitempty"`
	// Where a step's time goes: rollouts (generation plus environment:
	// search, tools) and the update. LLMShare and EnvShare split the
	// rollout by the episodes' own accounting (time waiting on the model
	// against time in tools, summed over episodes).
	RolloutTime time.Duration `json:"rollout_ns"`
	LLMShare    float64       `json:"llm_share"`
	EnvShare    float64       `json:"env_share"`
	GenTokens   int           `json:"generated_tokens"` // policy tokens sampled in the rollouts
	TrainTokens int           `json:"train_tokens"`     // tokens through forward and backward (all epochs)
	TrainTime   time.Duration `json:"train_ns"`
}

// Step runs one step: G episodes per sample, rewards, advantages, then
// Epochs updates of the clipped objective. step numbers the step for
// seeds and reward schedules.
func (l *Loop) Step(ctx context.Context, step int, batch []Sample) (StepStats, error) {
	cfg := l.cfg()
	st := StepStats{Step: step, Components: map[string]float64{}, Statuses: map[agent.Status]int{}}
	if cfg.GuideSFT != 0 && (!cfg.Guide || cfg.Estimator == PPO) {
		return st, fmt.Errorf("step %d: guide_sft needs guide and a group estimator (PPO's advantages come from its value head)", step)
	}
	t0 := time.Now()
	qs := make([]agent.Question, 0, len(batch)*cfg.Group)
	for _, s := range batch {
		for g := range cfg.Group {
			qs = append(qs, agent.Question{ID: fmt.Sprintf("%s#%d", s.ID, g), Text: s.Question})
		}
	}
	seed := cfg.Seed + int64(step)*1_000_003
	conc := cfg.Concurrency
	if conc <= 0 {
		conc = len(qs)
	}
	eps := l.Runner.RunMany(ctx, qs, conc, agent.WithSeed(seed))
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.RolloutTime = time.Since(t0)
	st.Behaviour = stepBehaviour(eps, batch, cfg.Group)
	st.Crops = stepCrops(eps, batch, cfg.Group)
	own := len(eps) // the policy's episodes; the teacher's follow
	if cfg.Guide {
		if l.Guide == nil {
			return st, fmt.Errorf("step %d: guide is set but the loop has no teacher", step)
		}
		gq := make([]agent.Question, len(batch))
		for i, s := range batch {
			gq[i] = agent.Question{ID: s.ID + "#guide", Text: s.Question}
		}
		eps = append(eps, l.Guide.RunMany(ctx, gq, len(gq))...)
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
	// group is the question index of episode i.
	group := func(i int) int {
		if i >= own {
			return i - own
		}
		return i / cfg.Group
	}
	var llmT, toolT time.Duration
	for _, ep := range eps[:own] {
		llmT += ep.Ledger.LLMTime
		toolT += ep.Ledger.ToolTime
		st.GenTokens += ep.Ledger.CompletionTokens
	}
	if tot := llmT + toolT; tot > 0 {
		st.LLMShare, st.EnvShare = float64(llmT)/float64(tot), float64(toolT)/float64(tot)
	}

	t1 := time.Now()
	rewards := make([]float64, len(eps))
	perTurn := make([][]float64, len(eps)) // the part of each reward earned turn by turn (progress)
	anyTurnReward := false                 // whether any episode earned some of its reward turn by turn
	roleBonus := map[string][]float64{}    // each role's own reward terms (MMOA's penalties), per episode
	fn := reward.AtStep(l.Reward, step)
	for i, ep := range eps {
		sc, err := fn.Score(ctx, ep, batch[group(i)].Gold)
		if err != nil {
			return st, fmt.Errorf("step %d: reward of %s: %w", step, ep.ID, err)
		}
		rewards[i] = sc.Total
		// Every turn gets a value (0 where the reward has none, as when a
		// format gate closed), so that each episode's turn k is compared
		// with the others' turn k.
		perTurn[i] = append(sc.PerTurn, make([]float64, max(0, len(ep.Turns)-len(sc.PerTurn)))...)
		anyTurnReward = anyTurnReward || slices.ContainsFunc(sc.PerTurn, func(v float64) bool { return v != 0 })
		for r, v := range sc.Roles {
			if roleBonus[r] == nil {
				roleBonus[r] = make([]float64, len(eps))
			}
			roleBonus[r][i] = v
		}
		if i >= own {
			continue // the teacher's episode counts in no statistic
		}
		if matches(ep.Answer, batch[group(i)].Gold.Answers) {
			st.EM += 1 / float64(own)
		}
		for _, c := range sc.Components {
			st.Components[c.Name] += c.Value / float64(own)
		}
	}
	groups := make([][]int, len(batch))
	for i := range eps {
		groups[group(i)] = append(groups[group(i)], i)
	}
	var adv []float64
	var turnAdv [][]float64 // by episode and turn, when rewards arrive turn by turn
	var err error
	if cfg.Estimator == PPO {
		adv = make([]float64, len(rewards)) // per token, from the value head below
	} else if adv, err = Advantages(cfg.Estimator, rewards, groups); err != nil {
		return st, err
	} else if anyTurnReward {
		if turnAdv, err = TurnAdvantages(cfg.Estimator, rewards, perTurn, groups); err != nil {
			return st, err
		}
	}
	l.summarise(&st, eps[:own], rewards[:own], ownGroups(groups, own))
	if l.OnEpisodes != nil {
		l.OnEpisodes(step, eps[:own], rewards[:own], adv[:own], turnAdvOwn(turnAdv, own))
	}
	seqs, tokens := l.sequences(eps, agent.MainRole, adv, rewards)
	byTurn(seqs, perTurn, turnAdv)
	if extra, err := l.roleSequences(&st, eps, rewards, roleBonus, groups, cfg); err != nil {
		return st, fmt.Errorf("step %d: %w", step, err)
	} else {
		seqs = append(seqs, extra...)
	}
	if cfg.GuideSFT != 0 {
		for i := range seqs {
			if seqs[i].ep < own {
				continue
			}
			for t := range seqs[i].seq.Advantage {
				seqs[i].seq.Advantage[t] += cfg.GuideSFT
			}
		}
	}
	if err := l.guideLogprobs(seqs, own); err != nil {
		return st, fmt.Errorf("step %d: the teacher's episodes under the policy: %w", step, err)
	}
	if cfg.Estimator == PPO && len(seqs) > 0 {
		if st.ValueLoss, err = l.ppoAdvantages(seqs, cfg); err != nil {
			return st, fmt.Errorf("step %d: %w", step, err)
		}
	}
	st.Trained = len(seqs)
	if len(seqs) > 0 {
		if err := l.update(seqs, tokens, cfg, &st); err != nil {
			return st, fmt.Errorf("step %d: %w", step, err)
		}
	}
	st.TrainTime = time.Since(t1)
	return st, nil
}

// guideLogprobs gives the teacher's sequences (episodes from own on) the
// policy's own log-probabilities as their "old" ones, so their ratio
// starts at 1 and each token is pushed by its advantage alone.
func (l *Loop) guideLogprobs(seqs []trainSeq, own int) error {
	var at []int
	var sub []trainSeq
	for i, s := range seqs {
		if s.ep >= own {
			at = append(at, i)
			sub = append(sub, s)
		}
	}
	if len(sub) == 0 {
		return nil
	}
	for _, mb := range planBatches(sub, microTokens(l.Trainer), l.Trainer.Settings().SeqLen) {
		if err := mb.logprobs(l.Trainer, sub, func(s *Seq) *[]float64 { return &s.OldLogp }); err != nil {
			return err
		}
	}
	for k, i := range at {
		seqs[i].seq.OldLogp = sub[k].seq.OldLogp
	}
	return nil
}

// ownGroups is groups without the teacher's episodes (index ≥ own).
func ownGroups(groups [][]int, own int) [][]int {
	out := make([][]int, len(groups))
	for g, idx := range groups {
		for _, i := range idx {
			if i < own {
				out[g] = append(out[g], i)
			}
		}
	}
	return out
}

func turnAdvOwn(turnAdv [][]float64, own int) [][]float64 {
	if turnAdv == nil {
		return nil
	}
	return turnAdv[:own]
}

func (l *Loop) cfg() Config {
	c := l.Cfg
	if c.Estimator == "" {
		c.Estimator = GRPO
	}
	if c.Group <= 0 {
		c.Group = 4
	}
	if c.Epochs <= 0 {
		c.Epochs = 1
	}
	if c.Loss.ClipLow == 0 && c.Loss.ClipHigh == 0 {
		c.Loss.ClipLow, c.Loss.ClipHigh = 0.2, 0.2
	}
	return c
}

func (l *Loop) summarise(st *StepStats, eps []*agent.Episode, rewards []float64, groups [][]int) {
	st.Episodes = len(eps)
	var sum, sq float64
	for i, ep := range eps {
		sum += rewards[i]
		sq += rewards[i] * rewards[i]
		st.Statuses[ep.Status]++
		st.Turns += float64(ep.Ledger.Turns)
		st.Searches += float64(ep.Ledger.Searches)
		st.ResponseLen += float64(ep.Ledger.CompletionTokens)
	}
	n := float64(len(eps))
	st.Reward = sum / n
	st.RewardStd = math.Sqrt(max(0, sq/n-st.Reward*st.Reward))
	st.Turns /= n
	st.Searches /= n
	st.ResponseLen /= n
	flat := 0
	for _, g := range groups {
		_, sd := meanStd(rewards, g)
		if sd == 0 {
			flat++
		}
	}
	st.NoSignal = float64(flat) / float64(len(groups))
}

// trainSeq is one episode's main-role stream, cut to the trainer's length.
type trainSeq struct {
	ids    []int
	seq    Seq
	reward float64 // the episode's reward (PPO's return at the last token)
	ep     int     // the episode's index in the step
	// turns[t] is the episode turn token t belongs to; perTurn the part of
	// reward earned at each turn (nil when none is).
	turns   []int
	perTurn []float64
}

// byTurn gives each sequence its episode's per-turn rewards and, when
// turnAdv is set, each token its turn's advantage.
func byTurn(seqs []trainSeq, perTurn, turnAdv [][]float64) {
	for i := range seqs {
		s := &seqs[i]
		s.perTurn = perTurn[s.ep]
		if turnAdv == nil {
			continue
		}
		for t, k := range s.turns {
			if k >= 0 && k < len(turnAdv[s.ep]) {
				s.seq.Advantage[t] = turnAdv[s.ep][k]
			}
		}
	}
}

// sequences turns episodes into loss inputs. Episodes without a complete
// token stream (failed ones, text-only backends) are left out.
func (l *Loop) sequences(eps []*agent.Episode, role string, adv, rewards []float64) ([]trainSeq, int) {
	limit := l.Trainer.Settings().SeqLen + 1 // T inputs predict T targets
	var out []trainSeq
	tokens := 0
	for i, ep := range eps {
		if ep.Status == agent.Failed || ep.Status == agent.Cancelled {
			continue
		}
		ids, mask, err := ep.Tokens(role)
		if err != nil || len(ids) < 2 {
			continue
		}
		old := make([]float64, 0, len(ids))
		turns := make([]int, 0, len(ids))
		for _, s := range ep.Context {
			if s.Role != role {
				continue
			}
			for k := range s.TokenIDs {
				turns = append(turns, s.Turn)
				v := 0.0
				if s.Source == agent.Policy && k < len(s.Logprobs) {
					v = s.Logprobs[k]
				}
				old = append(old, v)
			}
		}
		n := min(len(ids), limit)
		ts := trainSeq{ids: ids[:n], reward: rewards[i], ep: i, turns: turns[:n], seq: Seq{Mask: mask[:n], OldLogp: old[:n], Advantage: make([]float64, n)}}
		ts.seq.Mask[0] = 0 // the first token is never predicted
		for t := range n {
			ts.seq.Advantage[t] = adv[i]
			tokens += int(ts.seq.Mask[t])
		}
		out = append(out, ts)
	}
	return out, tokens
}

// update runs the epochs: current (and reference) log-probabilities by
// forward passes where needed, weights, then forward-backward and one
// optimizer step per epoch.
func (l *Loop) update(seqs []trainSeq, _ int, cfg Config, st *StepStats) error {
	plan := planBatches(seqs, microTokens(l.Trainer), l.Trainer.Settings().SeqLen)
	if cfg.Loss.KL != KLNone {
		if l.Ref == nil {
			return fmt.Errorf("a KL penalty needs a reference model")
		}
		if l.refTrainer == nil {
			rt, err := model.NewTrainer(l.Ref, *l.Trainer.Settings(), 0)
			if err != nil {
				return fmt.Errorf("reference: %w", err)
			}
			l.refTrainer = rt
		}
		for _, mb := range plan {
			if err := mb.logprobs(l.refTrainer, seqs, func(s *Seq) *[]float64 { return &s.RefLogp }); err != nil {
				return fmt.Errorf("reference: %w", err)
			}
		}
	}
	for epoch := range cfg.Epochs {
		if epoch == 0 {
			for i := range seqs { // nothing has changed since the rollout
				seqs[i].seq.Logp = seqs[i].seq.OldLogp
			}
		} else {
			for _, mb := range plan {
				if err := mb.logprobs(l.Trainer, seqs, func(s *Seq) *[]float64 { return &s.Logp }); err != nil {
					return err
				}
			}
		}
		in := make([]Seq, len(seqs))
		for i := range seqs {
			in[i] = seqs[i].seq
		}
		ws, ls, err := Weights(in, cfg.Loss)
		if err != nil {
			return err
		}
		for _, mb := range plan {
			if _, err := mb.forwardBackward(l.Trainer, ws); err != nil {
				return err
			}
			st.TrainTokens += mb.B * mb.T
		}
		us, err := l.Trainer.OptimStep()
		if err != nil {
			return err
		}
		st.Loss, st.ClipFraction, st.KL, st.GradNorm, st.LR = ls.Loss, ls.ClipFraction, ls.KL, us.GradNorm, us.LR
		if epoch == 0 {
			st.Entropy = ls.Entropy
		}
	}
	return nil
}

// matches reports whether answer equals one of the gold answers after
// normalisation (exact match).
func matches(answer string, gold []string) bool {
	for _, g := range gold {
		if reward.ExactMatch(answer, g) {
			return true
		}
	}
	return false
}

// RoleStats is one agent role's share of a multi-agent step.
type RoleStats struct {
	Reward float64 `json:"reward"`
	Tokens int     `json:"tokens"`
}

// roleSequences trains the other agents of multi-agent episodes (MMOA's
// rewriter, selector, generator share one model): each role's token
// stream gets the shared reward plus that role's own reward terms (its
// penalties), with advantages taken within each group as for the main
// role. Single-agent episodes have no other role and add nothing.
func (l *Loop) roleSequences(st *StepStats, eps []*agent.Episode, shared []float64, bonus map[string][]float64, groups [][]int, cfg Config) ([]trainSeq, error) {
	var roles []string
	seen := map[string]bool{agent.MainRole: true}
	for _, ep := range eps {
		for _, r := range ep.Roles() {
			if !seen[r] && hasPolicyTokens(ep, r) {
				seen[r] = true
				roles = append(roles, r)
			}
		}
	}
	var out []trainSeq
	for _, role := range roles {
		rw := make([]float64, len(shared))
		for i := range rw {
			rw[i] = shared[i]
			if b := bonus[role]; b != nil {
				rw[i] += b[i]
			}
		}
		var adv []float64
		var err error
		if cfg.Estimator == PPO {
			adv = make([]float64, len(rw))
		} else if adv, err = Advantages(cfg.Estimator, rw, groups); err != nil {
			return nil, fmt.Errorf("role %s: %w", role, err)
		}
		seqs, tokens := l.sequences(eps, role, adv, rw)
		if st.Roles == nil {
			st.Roles = map[string]RoleStats{}
		}
		st.Roles[role] = RoleStats{Reward: mean(rw), Tokens: tokens}
		out = append(out, seqs...)
	}
	return out, nil
}

func hasPolicyTokens(ep *agent.Episode, role string) bool {
	for _, s := range ep.Context {
		if s.Role == role && s.Source == agent.Policy && len(s.TokenIDs) > 0 {
			return true
		}
	}
	return false
}
