package rl

import (
	"fmt"
	"math"
	"slices"

	"github.com/sleuth-research/sleuth/behaviour"
)

// Warning is a training-health alarm: what was seen and what to try.
type Warning struct {
	Step   int    `json:"step"`
	Kind   string `json:"kind"` // entropy_collapse, entropy_blowup, length_blowup, search_collapse, kl_spike, clip_fraction, no_signal, hop_flattening, answer_avoidance, reasoning_collapse
	Saw    string `json:"saw"`
	Remedy string `json:"remedy"`
}

func (w Warning) String() string {
	return fmt.Sprintf("step %d: %s: %s; %s", w.Step, w.Kind, w.Saw, w.Remedy)
}

// HealthConfig sets when the alarms fire. Zero fields take the defaults
// noted; they are meant to fire early, while the score still holds.
type HealthConfig struct {
	Warmup          int     // steps that set the baselines (default 3)
	EntropyDrop     float64 // entropy below this share of its baseline (0.3)
	EntropyGrowth   float64 // entropy above this multiple of its baseline (1.8)
	LengthGrowth    float64 // response length above this multiple of its baseline (2.5)
	SearchDrop      float64 // searches per episode below this share of their baseline (0.5)
	KLSpike         float64 // KL above this multiple of its running median (5), and above KLFloor
	KLFloor         float64 // (0.02 nats a token)
	ClipMax         float64 // clip fraction above this (0.3)
	NoSignalMax     float64 // share of groups with all-equal rewards above this (0.6) ...
	NoSignalPatient int     // ... for this many steps in a row (3)

	// Behaviour alarms (StepStats.Behaviour), each on BehaviourPatient
	// steps in a row (default 2), against baselines from the first Warmup
	// steps that recorded behaviour.
	HopSlopeDrop     float64 // searches-by-hops slope below this share of its baseline (0.5) ...
	HopSlopeFloor    float64 // ... when the baseline slope was at least this (0.2 searches a hop)
	AvoidanceRise    float64 // answer avoidance above its baseline by this much (0.15)
	ReasoningDrop    float64 // reasoning words per turn below this share of baseline (0.3) ...
	RepetitionMax    float64 // ... or reasoning repetition above this (0.5) and twice its baseline ...
	RewardHold       float64 // ... while reward holds at this share of its baseline or better (0.8)
	BehaviourPatient int
}

func (c HealthConfig) withDefaults() HealthConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.EntropyDrop, 0.3)
	def(&c.EntropyGrowth, 1.8)
	def(&c.LengthGrowth, 2.5)
	def(&c.SearchDrop, 0.5)
	def(&c.KLSpike, 5)
	def(&c.KLFloor, 0.02)
	def(&c.ClipMax, 0.3)
	def(&c.NoSignalMax, 0.6)
	def(&c.HopSlopeDrop, 0.5)
	def(&c.HopSlopeFloor, 0.2)
	def(&c.AvoidanceRise, 0.15)
	def(&c.ReasoningDrop, 0.3)
	def(&c.RepetitionMax, 0.5)
	def(&c.RewardHold, 0.8)
	if c.BehaviourPatient == 0 {
		c.BehaviourPatient = 2
	}
	if c.Warmup == 0 {
		c.Warmup = 3
	}
	if c.NoSignalPatient == 0 {
		c.NoSignalPatient = 3
	}
	return c
}

// Health watches step statistics and raises warnings before the score
// drops: entropy collapse or blow-up, response-length blow-up, the policy giving up
// search, KL spikes, clip fraction out of range and groups without signal. Each kind fires once
// until its condition clears, so a long run is not flooded.
type Health struct {
	Cfg HealthConfig

	entropy, length, searches []float64 // first Warmup steps
	kls                       []float64
	noSignalRun               int
	active                    map[string]bool

	// Behaviour baselines (first Warmup steps with behaviour) and how
	// many steps in a row each behaviour alarm's condition has held.
	slopes, avoid, think, repeat, reward []float64
	behaviourSteps                       int
	runs                                 map[string]int
}

// Observe takes one step's statistics and returns the warnings that start
// firing at that step.
func (h *Health) Observe(st StepStats) []Warning {
	c := h.Cfg.withDefaults()
	if h.active == nil {
		h.active = map[string]bool{}
	}
	var out []Warning
	raise := func(kind string, on bool, saw, remedy string) {
		if on && !h.active[kind] {
			out = append(out, Warning{Step: st.Step, Kind: kind, Saw: saw, Remedy: remedy})
		}
		h.active[kind] = on
	}
	if len(h.entropy) < c.Warmup {
		h.entropy = append(h.entropy, st.Entropy)
		h.length = append(h.length, st.ResponseLen)
		h.searches = append(h.searches, st.Searches)
	} else {
		base := mean(h.entropy)
		raise("entropy_collapse", base > 0 && st.Entropy < c.EntropyDrop*base,
			fmt.Sprintf("entropy %.3f nats/token, %.0f%% of its first steps' %.3f", st.Entropy, 100*st.Entropy/base, base),
			"the policy is turning deterministic before it has learned: raise the temperature, add an entropy bonus, lower the learning rate or use clip-higher (clip_high 0.28)")
		// Rising entropy with falling reward is a policy coming apart:
		// with few correct answers most advantages push sampled tokens
		// down, and too large a step spreads their mass over everything.
		raise("entropy_blowup", base > 0 && st.Entropy > c.EntropyGrowth*base,
			fmt.Sprintf("entropy %.3f nats/token, %.1f× its first steps' %.3f", st.Entropy, st.Entropy/base, base),
			"the policy is coming apart: lower the RL learning rate (a 2e-4 run of the reading recipe fell apart where 3e-5 held), use more PPO epochs with clipping, or a KL penalty")
		lb := mean(h.length)
		raise("length_blowup", lb > 0 && st.ResponseLen > c.LengthGrowth*lb,
			fmt.Sprintf("%.0f response tokens per episode, %.1f× the first steps' %.0f", st.ResponseLen, st.ResponseLen/lb, lb),
			"responses are growing without bound: tighten turn_tokens or max_turns in the preset, add a length or format penalty, or aggregate with seq-sum (Dr. GRPO)")
		// A policy that stops searching can still keep its format reward:
		// when answers are rarely right the format term is all that
		// separates episodes, and the cheapest way to keep it is not to
		// search at all.
		sb := mean(h.searches)
		raise("search_collapse", sb > 0 && st.Searches < c.SearchDrop*sb,
			fmt.Sprintf("%.2f searches per episode, %.0f%% of the first steps' %.2f", st.Searches, 100*st.Searches/sb, sb),
			"the policy is giving up retrieval: include questions it sometimes answers right (easier hops, a curriculum) so correct answers outweigh the format term, lower the format penalty, or do more SFT first")
	}
	if len(h.kls) >= c.Warmup {
		med := median(h.kls)
		raise("kl_spike", st.KL > c.KLFloor && st.KL > c.KLSpike*med,
			fmt.Sprintf("KL %.4f, %.0f× its running median %.4f", st.KL, st.KL/max(med, 1e-12), med),
			"the policy jumped away from the reference: lower the learning rate, raise kl_coef, or use fewer PPO epochs")
	}
	h.kls = append(h.kls, st.KL)
	raise("clip_fraction", st.ClipFraction > c.ClipMax,
		fmt.Sprintf("%.0f%% of policy tokens clipped (above %.0f%%)", 100*st.ClipFraction, 100*c.ClipMax),
		"updates are too large for the trust region: lower the learning rate or the number of PPO epochs")
	if st.NoSignal > c.NoSignalMax {
		h.noSignalRun++
	} else {
		h.noSignalRun = 0
	}
	raise("no_signal", h.noSignalRun >= c.NoSignalPatient,
		fmt.Sprintf("%.0f%% of groups had all-equal rewards for %d steps in a row", 100*st.NoSignal, h.noSignalRun),
		"most groups teach nothing: use a denser reward (F1, format, progress), larger groups, easier questions for this stage (curriculum), or more SFT first")
	h.observeBehaviour(st, c, raise)
	return out
}

// observeBehaviour raises the behaviour alarms: searches no longer
// growing with hops, answer avoidance rising, and the reasoning channel
// collapsing (shrinking or repeating itself) while the reward holds, which
// 2026 re-examinations of Search-R1-style training saw before the score
// fell.
func (h *Health) observeBehaviour(st StepStats, c HealthConfig, raise func(kind string, on bool, saw, remedy string)) {
	b := st.Behaviour
	if b == nil {
		return
	}
	if h.runs == nil {
		h.runs = map[string]int{}
	}
	if h.behaviourSteps < c.Warmup {
		h.behaviourSteps++
		if b.HopSlope != nil {
			h.slopes = append(h.slopes, *b.HopSlope)
		}
		h.avoid = append(h.avoid, b.AvoidanceRate)
		h.think = append(h.think, b.ThinkWordsPerTurn)
		h.repeat = append(h.repeat, b.ThinkRepetition)
		h.reward = append(h.reward, st.Reward)
		return
	}
	// patient reports whether cond has held for BehaviourPatient steps.
	patient := func(kind string, cond bool) bool {
		if !cond {
			h.runs[kind] = 0
			return false
		}
		h.runs[kind]++
		return h.runs[kind] >= c.BehaviourPatient
	}
	if len(h.slopes) > 0 && b.HopSlope != nil {
		base := mean(h.slopes)
		raise("hop_flattening", patient("hop_flattening", base >= c.HopSlopeFloor && *b.HopSlope < c.HopSlopeDrop*base),
			fmt.Sprintf("%.2f extra searches per extra hop, down from %.2f in the first steps (searches by hops %s)", *b.HopSlope, base, byHopsText(b)),
			"the policy searches the same amount whatever the question needs: give multi-hop questions a larger share of the batch, reward evidence of each hop (progress or evidence reward), or check that the format term is not paying for a fixed number of searches")
	}
	ab := mean(h.avoid)
	raise("answer_avoidance", patient("answer_avoidance", b.AvoidanceRate > ab+c.AvoidanceRise),
		fmt.Sprintf("%.0f%% of episodes avoid answering (no answer, unknown, refusal), up from %.0f%%", 100*b.AvoidanceRate, 100*ab),
		"the reward pays more for not answering than for trying: with F1 or a wrong-answer penalty, an abstention can outscore a wrong guess; score a non-answer as a wrong one, or use EM")
	tb, rb, wb := mean(h.think), mean(h.repeat), mean(h.reward)
	holds := st.Reward >= wb-(1-c.RewardHold)*math.Abs(wb)
	shrunk := tb > 0 && b.ThinkWordsPerTurn < c.ReasoningDrop*tb
	looping := b.ThinkRepetition > c.RepetitionMax && b.ThinkRepetition > 2*rb
	raise("reasoning_collapse", patient("reasoning_collapse", holds && (shrunk || looping)),
		fmt.Sprintf("reasoning %.1f words a turn (first steps %.1f), %.0f%% repeated 4-grams (first steps %.0f%%), while the reward holds at %.3f (first steps %.3f)",
			b.ThinkWordsPerTurn, tb, 100*b.ThinkRepetition, 100*rb, st.Reward, wb),
		"the reasoning channel is degenerating before the score shows it: add a KL penalty or raise kl_coef, lower the learning rate, or penalise repetition in the format reward")
}

// byHopsText is the summary's searches-by-hops row as reports show it.
func byHopsText(b *behaviour.Summary) string {
	for _, r := range b.Rows() {
		if r.Key == "searches_by_hops" {
			return r.Format()
		}
	}
	return ""
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
