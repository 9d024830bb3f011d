package rl

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
)

// favourite rewards an episode by the share of its generated tokens equal
// to one token id: a task with a dense signal, so a few GRPO steps must
// move the policy.
type favourite struct{ id int }

func (f favourite) Score(_ context.Context, ep *agent.Episode, _ reward.Gold) (reward.Score, error) {
	hit, n := 0, 0
	for _, s := range ep.Context {
		if s.Source != agent.Policy {
			continue
		}
		for _, id := range s.TokenIDs {
			n++
			if id == f.id {
				hit++
			}
		}
	}
	r := 0.0
	if n > 0 {
		r = float64(hit) / float64(n)
	}
	return reward.Score{Total: r, Components: []reward.Component{{Name: "favourite", Value: r}}}, nil
}

func TestLearnsAFavouriteToken(t *testing.T) {
	for _, tc := range []struct {
		est  Estimator
		lr   float64
		want float64
	}{
		{GRPO, 3e-2, 0.5},
		{PPO, 3e-2, 0.5},
	} {
		t.Run(string(tc.est), func(t *testing.T) {
			first, last := learnFavourite(t, tc.est, tc.lr, 40)
			t.Logf("reward %.3f → %.3f, clip %.2f, grad norm %.3f, value loss %.4f", first.Reward, last.Reward, last.ClipFraction, last.GradNorm, last.ValueLoss)
			if last.Reward < tc.want || last.Reward < first.Reward+0.3 {
				t.Errorf("%s did not learn: reward %.3f at step 0, %.3f at the end", tc.est, first.Reward, last.Reward)
			}
		})
	}
}

// toyPolicy is a random model of the given depth and context over a
// 300-token vocabulary (the protocol tags among them).
func toyPolicy(t *testing.T, layers, seqLen int, seed uint64) (*tokenizer.BPE, *model.Model) {
	t.Helper()
	texts := func(yield func(string) bool) {
		for i := range 50 {
			if !yield(fmt.Sprintf("question %d asks about the river and the hill number %d", i, i*7)) {
				return
			}
		}
	}
	tok, err := tokenizer.Train(texts, 300, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewRandom(model.Config{Dim: 32, HiddenDim: 64, Layers: layers, Heads: 2, KVHeads: 2, Vocab: tok.VocabSize(), SeqLen: seqLen, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return tok, m
}

// favouriteLoop is a Loop over a toy policy rewarded by favourite for the
// <answer> token, at a constant learning rate; it returns the tokenizer
// and the token too.
func favouriteLoop(t *testing.T, lr float64, cfg Config) (*Loop, *tokenizer.BPE, int) {
	t.Helper()
	tok, m := toyPolicy(t, 1, 64, 7)
	target, ok := tok.TokenID("<answer>")
	if !ok {
		t.Fatal("no <answer> token")
	}
	p, err := agent.ParsePreset("toy", []byte("mode: direct\nprompt: 'Q: {question}\n'\nbudget: {max_turns: 1, turn_tokens: 8}\nsampling: {temperature: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tc := model.DefaultTrainConfig(16, 32)
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = lr, lr, 1, 0
	trainer, err := model.NewTrainer(m, tc, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &Loop{Policy: m, Trainer: trainer, Reward: favourite{target}, Cfg: cfg,
		Runner: &agent.Runner{Preset: p, Policy: local.New(m, tok, local.Config{NoBOS: true})}}, tok, target
}

func learnFavourite(t *testing.T, est Estimator, lr float64, steps int) (first, last StepStats) {
	t.Helper()
	loop, _, _ := favouriteLoop(t, lr, Config{Estimator: est, Group: 8, Seed: 1})
	batch := []Sample{{ID: "a", Question: "river", Hops: 1}, {ID: "b", Question: "hill", Hops: 2}}
	for step := range steps {
		st, err := loop.Step(context.Background(), step, batch)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = st
		}
		last = st
		if st.Trained != 16 {
			t.Fatalf("step %d trained on %d episodes, want 16", step, st.Trained)
		}
		if b := st.Behaviour; b == nil || b.Episodes != 16 || len(b.SearchesByHops) != 2 || b.HopSlope == nil {
			t.Fatalf("step %d behaviour %+v: want 16 episodes labelled 1 and 2 hops", step, b)
		}
	}
	return first, last
}

// sequenceLoop is a Loop over a tiny random model, enough to turn
// hand-made episodes into loss inputs.
func sequenceLoop(t *testing.T) *Loop {
	t.Helper()
	m, err := model.NewRandom(model.Config{Dim: 16, HiddenDim: 32, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 50, SeqLen: 64, RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := model.NewTrainer(m, model.DefaultTrainConfig(2, 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	return &Loop{Policy: m, Trainer: tr}
}

// TestRoleSequences: in a multi-agent episode every role's stream is
// trained, with the shared reward plus the role's own terms, advantages
// taken within the group, and only the role's generated tokens weighted.
func TestRoleSequences(t *testing.T) {
	l := sequenceLoop(t)
	ep := func(id string) *agent.Episode {
		return &agent.Episode{ID: id, Context: []agent.Segment{
			{Source: agent.Env, Role: agent.MainRole, TokenIDs: []int{1, 2, 3}},
			{Source: agent.Policy, Role: agent.MainRole, TokenIDs: []int{4, 5}, Logprobs: []float64{-1, -1}},
			{Source: agent.Env, Role: "rewriter", TokenIDs: []int{6, 7}},
			{Source: agent.Policy, Role: "rewriter", TokenIDs: []int{8, 9, 10}, Logprobs: []float64{-2, -2, -2}},
		}}
	}
	eps := []*agent.Episode{ep("a"), ep("b")}
	shared := []float64{1, 0}
	bonus := map[string][]float64{"rewriter": {-2, 0}} // a penalty on a's rewriter turns it from best to worst
	var st StepStats
	seqs, err := l.roleSequences(&st, eps, shared, bonus, [][]int{{0, 1}}, Config{Estimator: DrGRPO})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 2 || st.Roles["rewriter"].Tokens != 6 || st.Roles["rewriter"].Reward != -0.5 {
		t.Fatalf("%d sequences, role stats %+v; want 2 rewriter streams of 3 policy tokens each, mean reward -0.5", len(seqs), st.Roles)
	}
	for i, want := range []float64{-0.5, 0.5} { // rewards −1 and 0 around their mean −0.5
		s := seqs[i].seq
		for k, m := range s.Mask {
			if m == 0 {
				continue
			}
			if s.Advantage[k] != want {
				t.Errorf("episode %d token %d: advantage %g, want %g", i, k, s.Advantage[k], want)
			}
		}
		if got := s.Mask; got[0] != 0 || got[1] != 0 || got[2] != 1 || got[4] != 1 {
			t.Errorf("episode %d: mask %v, want environment tokens 0 and the rewriter's own 1", i, got)
		}
	}
}

// TestTokensGetTheirTurnsAdvantage: each policy token of a multi-turn
// episode carries the advantage of its own turn.
func TestTokensGetTheirTurnsAdvantage(t *testing.T) {
	l := sequenceLoop(t)
	ep := &agent.Episode{ID: "a", Context: []agent.Segment{
		{Source: agent.Env, Role: agent.MainRole, TokenIDs: []int{1, 2}},
		{Source: agent.Policy, Role: agent.MainRole, Turn: 0, TokenIDs: []int{3, 4}, Logprobs: []float64{-1, -1}},
		{Source: agent.Env, Role: agent.MainRole, Turn: 0, TokenIDs: []int{5}},
		{Source: agent.Policy, Role: agent.MainRole, Turn: 1, TokenIDs: []int{6, 7, 8}, Logprobs: []float64{-1, -1, -1}},
	}}
	seqs, _ := l.sequences([]*agent.Episode{ep}, agent.MainRole, []float64{9}, []float64{1})
	byTurn(seqs, [][]float64{{0.5, 0}}, [][]float64{{-1, 2}})
	s := seqs[0]
	// Environment tokens get whatever their segment's turn says; the mask
	// keeps them out of the loss.
	for i, want := range map[int]float64{2: -1, 3: -1, 5: 2, 6: 2, 7: 2} {
		if s.seq.Advantage[i] != want {
			t.Errorf("token %d: advantage %g, want %g (all: %v)", i, s.seq.Advantage[i], want, s.seq.Advantage)
		}
	}
	if s.perTurn[0] != 0.5 {
		t.Errorf("turn rewards %v", s.perTurn)
	}
	for i, m := range s.seq.Mask {
		if (m != 0) != (i == 2 || i == 3 || i == 5 || i == 6 || i == 7) {
			t.Errorf("mask %v: token %d", s.seq.Mask, i)
		}
	}
}

// TestRolloutLogprobsMatchTheTrainer: the loss sees exactly what the policy
// generated. Every policy token of multi-turn episodes (observations in
// between) has the same log-probability in the trainer's forward pass over
// the episode's token stream as the engine reported when sampling it; an
// off-by-one between segments would show here, and the first epoch's
// ratios (taken as 1) would be wrong.
func TestRolloutLogprobsMatchTheTrainer(t *testing.T) {
	tok, m := toyPolicy(t, 2, 512, 3)
	m.Deterministic = true
	p, err := agent.ParsePreset("toy", []byte("mode: tags\ntags: {think: think, search: search, answer: answer, information: information}\n"+
		"prompt: 'Q: {question}\n'\non_format_error: observe\nbudget: {max_turns: 3, turn_tokens: 6}\nsampling: {temperature: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := model.NewTrainer(m, model.DefaultTrainConfig(4, 512), 1)
	if err != nil {
		t.Fatal(err)
	}
	run := &agent.Runner{Preset: p, Policy: local.New(m, tok, local.Config{NoBOS: true})}
	var qs []agent.Question
	for i := range 6 {
		qs = append(qs, agent.Question{ID: fmt.Sprint(i), Text: fmt.Sprintf("where is the river %d", i)})
	}
	eps := run.RunMany(context.Background(), qs, 6, agent.WithSeed(5))
	l := &Loop{Policy: m, Trainer: tr}
	seqs, _ := l.sequences(eps, agent.MainRole, make([]float64, len(eps)), make([]float64, len(eps)))
	for _, mb := range planBatches(seqs, microTokens(tr), tr.Cfg.SeqLen) {
		if err := mb.logprobs(tr, seqs, func(s *Seq) *[]float64 { return &s.Logp }); err != nil {
			t.Fatal(err)
		}
	}
	multi := 0
	for i, s := range seqs {
		turns := map[int]bool{}
		for k, w := range s.seq.Mask {
			if w == 0 {
				continue
			}
			turns[s.turns[k]] = true
			if d := math.Abs(s.seq.Logp[k] - s.seq.OldLogp[k]); d > 1e-3 {
				t.Errorf("episode %d token %d (turn %d): trainer log-prob %.5f, rollout %.5f", i, k, s.turns[k], s.seq.Logp[k], s.seq.OldLogp[k])
			}
		}
		if len(turns) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Fatal("no episode had more than one policy turn; the test checks nothing across observations")
	}
}

// TestSampleTraceShowsTurnAdvantages: the report's trace view colours each
// policy token by its own turn's advantage and marks environment tokens.
func TestSampleTraceShowsTurnAdvantages(t *testing.T) {
	ep := &agent.Episode{ID: "a", Context: []agent.Segment{
		{Source: agent.Env, Role: agent.MainRole, TokenIDs: []int{1}},
		{Source: agent.Policy, Role: agent.MainRole, Turn: 0, TokenIDs: []int{2}, Logprobs: []float64{-1}},
		{Source: agent.Env, Role: agent.MainRole, Turn: 0, TokenIDs: []int{3}},
		{Source: agent.Policy, Role: agent.MainRole, Turn: 1, TokenIDs: []int{4}, Logprobs: []float64{-1}},
	}}
	decode := func(id int) string { return fmt.Sprint(id) }
	for _, tc := range []struct {
		turnAdv []float64
		want    []float64
	}{
		{nil, []float64{0, 0.5, 0, 0.5}},
		{[]float64{-1, 2}, []float64{0, -1, 0, 2}},
	} {
		s, err := SampleTrace(3, ep, 1, 0.5, tc.turnAdv, decode)
		if err != nil {
			t.Fatal(err)
		}
		for i, tv := range s.Tokens {
			if tv.Adv != tc.want[i] || tv.Policy != (i == 1 || i == 3) || tv.Text != fmt.Sprint(i+1) {
				t.Errorf("turn advantages %v: token %d = %+v, want advantage %g", tc.turnAdv, i, tv, tc.want[i])
			}
		}
	}
}

// teacher writes the favourite token over and over: the guide of
// TestGuideTeachesWhatRolloutsMiss.
type teacher struct {
	tok *tokenizer.BPE
	id  int
}

func (c teacher) Tokenize(text string) []int { return c.tok.Encode(text) }

func (c teacher) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	ids := make([]int, min(8, max(1, req.MaxTokens)))
	for i := range ids {
		ids[i] = c.id
	}
	ch := llm.Choice{Text: c.tok.Decode(ids), TokenIDs: ids, Logprobs: make([]float64, len(ids)), FinishReason: "length"}
	return llm.Response{PromptIDs: req.PromptIDs, Choices: []llm.Choice{ch}, Usage: llm.Usage{CompletionTokens: len(ids)}}, nil
}

// TestGuideTeachesWhatRolloutsMiss: with Cfg.Guide the teacher's episode
// joins each group, is trained on (and only counted there, not in the
// step's statistics), and moves the policy towards what its own rollouts
// rarely find; without it the same few steps barely move it.
func TestGuideTeachesWhatRolloutsMiss(t *testing.T) {
	run := func(guide bool) (first, last StepStats) {
		loop, tok, target := favouriteLoop(t, 1e-2, Config{Group: 2, Seed: 1, Guide: guide})
		loop.Guide = &agent.Runner{Preset: loop.Runner.Preset, Policy: teacher{tok, target}}
		batch := []Sample{{ID: "a", Question: "river", Hops: 1}, {ID: "b", Question: "hill", Hops: 2}}
		for step := range 12 {
			st, err := loop.Step(context.Background(), step, batch)
			if err != nil {
				t.Fatal(err)
			}
			want := 4
			if guide {
				want = 6
			}
			if st.Episodes != 4 || st.Trained != want || st.Behaviour.Episodes != 4 {
				t.Fatalf("guide %v, step %d: %d episodes (behaviour %d), %d trained; want 4, 4, %d", guide, step, st.Episodes, st.Behaviour.Episodes, st.Trained, want)
			}
			if step == 0 {
				first = st
			}
			last = st
		}
		return first, last
	}
	f0, l0 := run(false)
	f1, l1 := run(true)
	t.Logf("reward without the guide %.3f → %.3f, with it %.3f → %.3f", f0.Reward, l0.Reward, f1.Reward, l1.Reward)
	if f0.Reward != f1.Reward {
		t.Errorf("step 0's reward differs with the guide (%.3f against %.3f): the teacher's episode leaked into the statistics", f1.Reward, f0.Reward)
	}
	if l1.Reward < l0.Reward+0.3 {
		t.Errorf("the guide did not teach: last reward %.3f with it, %.3f without", l1.Reward, l0.Reward)
	}
}

// flat scores every episode alike, so no group has a reward spread and
// every advantage is 0.
type flat struct{}

func (flat) Score(context.Context, *agent.Episode, reward.Gold) (reward.Score, error) {
	return reward.Score{Total: 1}, nil
}

// TestGuideSFTImitates: with a reward that tells no episode from another,
// the guide's episode has advantage 0 and teaches nothing; GuideSFT's
// imitation term still pushes its tokens up, so afterwards the policy says
// what the teacher says.
func TestGuideSFTImitates(t *testing.T) {
	run := func(sft float64) float64 {
		loop, tok, target := favouriteLoop(t, 1e-2, Config{Group: 2, Seed: 1, Guide: true, GuideSFT: sft})
		loop.Guide = &agent.Runner{Preset: loop.Runner.Preset, Policy: teacher{tok, target}}
		loop.Reward = flat{}
		batch := []Sample{{ID: "a", Question: "river", Hops: 1}, {ID: "b", Question: "hill", Hops: 2}}
		for step := range 12 {
			if _, err := loop.Step(context.Background(), step, batch); err != nil {
				t.Fatal(err)
			}
		}
		qs := make([]agent.Question, 16)
		for i := range qs {
			qs[i] = agent.Question{ID: fmt.Sprint(i), Text: "river"}
		}
		var sum float64
		for _, ep := range loop.Runner.RunMany(context.Background(), qs, 4, agent.WithSeed(99)) {
			sc, err := favourite{target}.Score(context.Background(), ep, reward.Gold{})
			if err != nil {
				t.Fatal(err)
			}
			sum += sc.Total / float64(len(qs))
		}
		return sum
	}
	for _, cfg := range []Config{{Group: 2, GuideSFT: 1}, {Group: 2, Guide: true, GuideSFT: 1, Estimator: PPO}} {
		loop, _, _ := favouriteLoop(t, 1e-2, cfg)
		if _, err := loop.Step(context.Background(), 0, []Sample{{ID: "a", Question: "river", Hops: 1}}); err == nil || !strings.Contains(err.Error(), "guide_sft needs") {
			t.Errorf("%+v: err %v, want a refusal naming guide_sft", cfg, err)
		}
	}
	without, with := run(0), run(1)
	t.Logf("the teacher's token's share after 12 flat-reward steps: %.3f without GuideSFT, %.3f with it", without, with)
	if with < without+0.3 {
		t.Errorf("GuideSFT did not imitate: %.3f with it, %.3f without", with, without)
	}
}
