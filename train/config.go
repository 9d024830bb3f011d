// Package train is a training run of sleuth's curriculum: its config,
// the phases (pre-training with a reading gate, SFT on oracle traces, RL,
// the best-SFT baseline), the world families each phase reads, checkpoints
// and resume, what made a run directory (run.json), base checkpoints, and
// the quickstart's evaluation table with its baselines. cmd/sleuth only
// parses flags, wires these together and prints.
package train

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/rl"
)

// Config is the YAML of `sleuth train --config FILE`; see
// examples/train/quickstart.yaml. Its marshalled form is config.yaml,
// whose hash names the run (run.json) and a base checkpoint (base.json):
// a change to the schema must not change how an existing config
// marshals (TestConfigYAMLStable).
type Config struct {
	Seed int64 `yaml:"seed"`
	// Base, when set, starts the run from a pretrained policy instead of
	// pre-training one: "builtin" (examples/base, made by `sleuth train
	// --config base`), "builtin:NAME" (examples/NAME, made by --config
	// NAME; base3 is the quickstart's) or a directory holding model.safetensors,
	// config.json, tokenizer.json and base.json, whose hashes are checked.
	// The model and tokenizer sections and pre-training are then the
	// base's; SFT starts with a fresh optimiser on its own schedule
	// (sft.lr). Pre-training is where the seed decides whether a small
	// policy ever learns to read (BENCHMARKS.md, "Session 7": at seeds 2
	// and 3 it had not after 700 steps), so every real recipe starts from a
	// base that passed the reading gate.
	Base string `yaml:"base,omitempty"`
	// World is the training family: Count worlds, seeds Seed … Seed+Count−1,
	// indexed together. Pre-training reads fresh worlds of its own (seeds
	// from Seed+offsetPretrain on) so it can teach words and copying but no fact;
	// evaluation uses a world no training phase saw (HeldOutSeed).
	World struct {
		Count     int `yaml:"count"`
		Entities  int `yaml:"entities"`
		Questions int `yaml:"questions"`
	} `yaml:"world"`
	Preset string `yaml:"preset"`
	// TopK, when set, replaces the preset's passages per search in every
	// phase and in evaluation: a small policy reads the right sentence
	// among two passages far more often than among three (BENCHMARKS.md,
	// "Session 6"). The run writes the preset it used to preset.yaml.
	TopK      int    `yaml:"top_k"`
	Reward    string `yaml:"reward"`
	Tokenizer struct {
		Vocab int `yaml:"vocab"`
		// Split is the pre-tokenizer: qwen2 (default; digits one at a
		// time), gpt2 or llama3 (digit runs may merge, so a year can be
		// one token, which a small model copies far more reliably).
		Split string `yaml:"split"`
	} `yaml:"tokenizer"`
	Model struct {
		Dim    int `yaml:"dim"`
		Layers int `yaml:"layers"`
		Heads  int `yaml:"heads"`
		SeqLen int `yaml:"seq_len"`
	} `yaml:"model"`
	LR float64 `yaml:"lr"` // peak learning rate of pre-training and SFT
	// LRDecaySteps is the length of the cosine decay from lr to lr/10,
	// counted from the first pre-training step; by default pretrain.steps +
	// sft.steps, so the rate reaches its floor as SFT ends. A longer decay
	// keeps the rate higher through the reading drills, which read much
	// better for it at equal steps (BENCHMARKS.md, "Session 5").
	LRDecaySteps int `yaml:"lr_decay_steps"`
	Pretrain     struct {
		Steps int `yaml:"steps"`
		Batch int `yaml:"batch"`
		// CopyRows of each batch are copy drills: segments of 3–8 distinct
		// tokens from the step's passages, each written three times in a
		// row. Dense short repeats grow the induction heads that copying
		// names rests on in a few hundred steps, where plain text or long
		// repeats sit on a plateau.
		CopyRows int `yaml:"copy_rows"`
		// TraceRows of each batch are oracle traces of the step's fresh
		// world (chain questions of at most pretrain.max_hops hops, after a
		// bare "Question:" line instead of the preset's instructions),
		// packed to about TraceTokens each and searched in that world's own
		// index: the search protocol on worlds nobody can memorise.
		// TraceFrom is the first step with trace and reading rows: the
		// steps before it read passages alone, which are short and fast
		// and enough for the copying circuits to form.
		TraceRows   int `yaml:"trace_rows"`
		TraceTokens int `yaml:"trace_tokens"`
		TraceFrom   int `yaml:"trace_from"`
		// ReadRows (from TraceFrom on) are reading drills: an information
		// block of two passages of the step's world, then a question on
		// every fact they state, each answered at once. An answer every
		// ~40 tokens, where a trace has one every ~350.
		ReadRows int `yaml:"read_rows"`
		// ReadChains is the share of drill blocks that show the passages
		// of a chain question of 2 to pretrain.max_hops hops and play it
		// through in the oracle's words before the single-fact questions.
		// Without them every fact a drill states is followed by "So the
		// answer is", and the policy learns to answer multi-hop questions
		// after their first hop.
		ReadChains float64 `yaml:"read_chains"`
		// MaxHops bounds the chain questions of trace rows and chain drills
		// (default sft.max_hops). Above sft.max_hops, searching several
		// times is a skill seen only on other worlds, in a bare prompt:
		// SFT on the task's prompt then shows shorter chains than RL asks.
		MaxHops int `yaml:"max_hops"`
		// GateProbe, when positive, is the reading gate: after Steps,
		// pre-training goes on in blocks of checkpoint.every steps until
		// the open-book probe loss (probeReading) is at most GateProbe,
		// and at most MaxSteps steps in all. When a small policy learns to
		// copy from its context depends on the seed (the probe falls from
		// ~4 to ~1 within ~150 steps, anywhere from step ~550 on); a fixed
		// budget either wastes steps or stops before the transition.
		GateProbe float64 `yaml:"gate_probe,omitempty"`
		MaxSteps  int     `yaml:"max_steps,omitempty"`
		// RewarmLR, when positive, is the rate of the steps the gate adds
		// past Steps, in cycles of RewarmSteps: each warms up to RewarmLR
		// and anneals to lr/10, and the gate is read at cycle ends only,
		// so a base that passes it is an annealed one, as at Steps. A
		// schedule that anneals over Steps leaves a seed that starts to
		// read late at the floor rate just when it is learning (seed 2 of
		// base3.yaml: probe 2.80 at 1,500, 1.35 at 3,000; BENCHMARKS.md,
		// Session 17). The steps up to Steps are untouched, so a run whose
		// gate passes there is unchanged.
		RewarmLR    float64 `yaml:"rewarm_lr,omitempty"`
		RewarmSteps int     `yaml:"rewarm_steps,omitempty"`
	} `yaml:"pretrain"`
	SFT struct {
		Steps   int `yaml:"steps"`
		Batch   int `yaml:"batch"`
		MaxHops int `yaml:"max_hops"` // oracle traces of chain questions of at most this many hops
		// HopShares, when set, is the share of SFT episodes of each hop
		// count, 1-hop first, one entry per hop up to max_hops (normalised
		// to sum 1); by default questions are drawn as the worlds hold them
		// (~45% 1-hop). The policy's second search is all or nothing in
		// it: with 15% 2-hop demonstrations it never searches twice, with
		// 35% it always does on multi-hop questions and RL has nothing
		// left to teach, with 25% it searches twice on about a third of 2-hop questions
		// (BENCHMARKS.md, "Session 6" and "Session 7").
		HopShares []float64 `yaml:"hop_shares"`
		// Worlds is where SFT's questions come from: "train" (default),
		// the training family, or "fresh", a small world generated for
		// each step (as pre-training's), searched in its own index, so
		// the policy imitates the protocol without memorising any name.
		Worlds string `yaml:"worlds"`
		// ReadRows of reading drills (see pretrain.read_rows), of a world
		// generated for the step, join every SFT step, so learning the
		// protocol does not wash out the reading pre-training taught.
		ReadRows int `yaml:"read_rows"`
		// LR and MinLR, when LR is set, are SFT's own schedule: a fresh
		// optimiser, a short warm-up, then cosine from LR to MinLR over
		// Steps (default lr/3 with a base). Unset, SFT continues
		// pre-training's optimiser and schedule.
		LR    float64 `yaml:"lr,omitempty"`
		MinLR float64 `yaml:"min_lr,omitempty"`
		// ContinueSteps trains the best-SFT baseline after RL: SFT resumed
		// from its last step (weights and optimiser) for this many more
		// steps of the same stream of demonstrations, about the compute RL
		// used, so the table shows whether RL beats imitation given the
		// same minutes, not only its own starting point.
		ContinueSteps int `yaml:"continue_steps,omitempty"`
	} `yaml:"sft"`
	RL         RLSettings `yaml:"rl"`
	Checkpoint struct {
		Every int `yaml:"every"`
		Keep  int `yaml:"keep"`
	} `yaml:"checkpoint"`
	// Backend is the engine that holds the policy's weights and optimiser
	// (backend.go): local (the default, in-process) or {tinker: URL}, a
	// Tinker-API server such as sleuth serve --tinker.
	Backend Backend `yaml:"backend,omitempty"`
	// Eval, when set, makes the config a recipe: after training, the SFT
	// and RL policies are compared on a held-out world on the run's reward
	// and exact match (recipe.json, the report, the log).
	Eval RecipeEval `yaml:"eval,omitempty"`
}

// LoadConfig reads a config file, or a built-in one by name from configs
// (train/NAME.yaml: quickstart, fast, base, reading, progress, fresh-sft,
// and a recipe per seed system, named for its preset); unknown fields are
// errors.
func LoadConfig(configs fs.FS, nameOrPath string) (Config, error) {
	var data []byte
	var err error
	if strings.ContainsAny(nameOrPath, "/.") {
		data, err = os.ReadFile(nameOrPath)
	} else {
		data, err = fs.ReadFile(configs, "train/"+nameOrPath+".yaml")
		if err != nil {
			err = fmt.Errorf("unknown built-in training config %q (built in: %s)", nameOrPath, strings.Join(ConfigNames(configs), ", "))
		}
	}
	if err != nil {
		return Config{}, fmt.Errorf("train config %s: %w", nameOrPath, err)
	}
	return ParseConfig(nameOrPath, data)
}

// ConfigNames lists the built-in configs of configs (train/*.yaml).
func ConfigNames(configs fs.FS) []string {
	names, _ := fs.Glob(configs, "train/*.yaml")
	for i, n := range names {
		names[i] = strings.TrimSuffix(path.Base(n), ".yaml")
	}
	return names
}

var unknownField = regexp.MustCompile(`^(line \d+: )field (\S+) not found in type `)

// ParseConfig parses a config's YAML, fills the defaults and validates it;
// name is what errors call it.
func ParseConfig(name string, data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for i, m := range te.Errors {
				// The sections are anonymous structs, which yaml.v3 would
				// print whole: "field x not found in type struct { Steps
				// int "yaml:\"steps\""; … }".
				if m2 := unknownField.FindStringSubmatch(m); m2 != nil {
					te.Errors[i] = m2[1] + "unknown field " + m2[2]
				}
			}
		}
		return c, fmt.Errorf("train config %s: %w", name, err)
	}
	c.withDefaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("train config %s: %w", name, err)
	}
	return c, nil
}

func (c *Config) withDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Preset == "" {
		c.Preset = "searchr1"
	}
	if c.Reward == "" {
		c.Reward = "searchr1-f1"
	}
	if c.RL.Estimator == "" {
		c.RL.Estimator = rl.GRPO
	}
	def(&c.World.Count, 4)
	def(&c.World.Entities, 300)
	def(&c.World.Questions, 1200)
	def(&c.Tokenizer.Vocab, 2000)
	def(&c.Model.Dim, 128)
	def(&c.Model.Layers, 3)
	def(&c.Model.Heads, max(1, c.Model.Dim/32))
	def(&c.Model.SeqLen, 1536)
	deff(&c.LR, 3e-3)
	def(&c.Pretrain.Batch, 16)
	def(&c.SFT.Batch, 16)
	def(&c.SFT.MaxHops, 2)
	def(&c.Pretrain.MaxHops, c.SFT.MaxHops)
	def(&c.Pretrain.TraceTokens, 1024)
	def(&c.RL.Questions, 8)
	def(&c.RL.Group, 8)
	def(&c.RL.Epochs, 1)
	deff(&c.RL.LR, c.LR/6)
	deff(&c.RL.Temperature, 1)
	def(&c.RL.MinHops, 1)
	def(&c.RL.MaxHops, 4)
	def(&c.Checkpoint.Every, 10)
	if c.Base != "" {
		deff(&c.SFT.LR, c.LR/3)
	}
	deff(&c.SFT.MinLR, c.SFT.LR/10)
	def(&c.Checkpoint.Keep, 2)
	if c.Eval.QuestionsPerHop > 0 {
		def(&c.Eval.MaxHops, 3)
		if c.Eval.Split == "" {
			c.Eval.Split = SplitTest
		}
	}
}

// Validate checks the settings together (withDefaults has run).
func (c Config) Validate() error {
	m := c.Model
	switch {
	case c.Pretrain.Steps < 0 || c.SFT.Steps < 0 || c.RL.Steps < 0:
		return fmt.Errorf("steps must not be negative")
	case m.Dim <= 0 || m.Layers <= 0 || m.Heads <= 0 || m.SeqLen < 64 || c.Tokenizer.Vocab < 300:
		return fmt.Errorf("model dim, layers and heads must be positive, seq_len at least 64 and the vocabulary at least 300: %+v, vocab %d", m, c.Tokenizer.Vocab)
	case c.Tokenizer.Split != "" && tokenizer.SplitStyle(c.Tokenizer.Split).Pattern() == "":
		return fmt.Errorf("tokenizer split %q: want qwen2, gpt2 or llama3", c.Tokenizer.Split)
	case c.World.Count <= 0 || c.World.Count >= 500 || c.World.Entities < 60 || c.World.Questions <= 0:
		return fmt.Errorf("world: count must be 1–499, entities at least 60, questions positive: %+v", c.World)
	case c.Pretrain.ReadChains < 0 || c.Pretrain.ReadChains > 1:
		return fmt.Errorf("pretrain read_chains %g must be between 0 and 1", c.Pretrain.ReadChains)
	case !validShares(c.SFT.HopShares, c.SFT.MaxHops):
		return fmt.Errorf("sft hop_shares %v needs one non-negative share per hop up to max_hops %d, not all zero", c.SFT.HopShares, c.SFT.MaxHops)
	case c.SFT.ReadRows < 0 || c.SFT.ReadRows > 64:
		return fmt.Errorf("sft read_rows %d must be between 0 and 64", c.SFT.ReadRows)
	case c.Pretrain.CopyRows < 0 || c.Pretrain.TraceRows < 0 || c.Pretrain.ReadRows < 0 || c.Pretrain.CopyRows+c.Pretrain.TraceRows+c.Pretrain.ReadRows > c.Pretrain.Batch:
		return fmt.Errorf("pretrain copy_rows %d, trace_rows %d and read_rows %d must not be negative nor add up to more than the batch %d", c.Pretrain.CopyRows, c.Pretrain.TraceRows, c.Pretrain.ReadRows, c.Pretrain.Batch)
	case c.SFT.MaxHops < 1 || c.Pretrain.MaxHops < 1:
		return fmt.Errorf("sft.max_hops %d and pretrain.max_hops %d must be at least 1", c.SFT.MaxHops, c.Pretrain.MaxHops)
	case (c.Pretrain.TraceRows > 0 || c.Pretrain.ReadRows > 0 || c.SFT.ReadRows > 0) && c.Pretrain.TraceTokens < 64:
		return fmt.Errorf("pretrain trace_tokens %d must be at least 64 when trace_rows or read_rows is set", c.Pretrain.TraceTokens)
	case c.Pretrain.Batch <= 0 || c.SFT.Batch <= 0 || c.RL.Questions <= 0 || c.RL.Group <= 0 || c.RL.Epochs <= 0 || c.Checkpoint.Every <= 0:
		return fmt.Errorf("batches, questions, group, epochs and checkpoint.every must be positive")
	case c.TopK < 0 || c.TopK > 20:
		return fmt.Errorf("top_k %d must be between 1 and 20 (0: the preset's)", c.TopK)
	case c.LRDecaySteps < 0:
		return fmt.Errorf("lr_decay_steps %d must not be negative (0: pretrain.steps + sft.steps)", c.LRDecaySteps)
	case !(c.LR > 0) || !(c.RL.LR > 0) || c.RL.Temperature < 0:
		return fmt.Errorf("learning rates must be positive and the temperature not negative")
	case c.Model.Dim%c.Model.Heads != 0:
		return fmt.Errorf("model dim %d is not a multiple of heads %d", c.Model.Dim, c.Model.Heads)
	case c.RL.Worlds != "" && c.RL.Worlds != "fresh" && c.RL.Worlds != "train":
		return fmt.Errorf("rl worlds %q: want fresh or train", c.RL.Worlds)
	case c.SFT.Worlds != "" && c.SFT.Worlds != "fresh" && c.SFT.Worlds != "train":
		return fmt.Errorf("sft worlds %q: want train or fresh", c.SFT.Worlds)
	case c.Base != "" && c.Pretrain.Steps > 0:
		return fmt.Errorf("pretrain.steps %d with base %q: a run starts from a base or pre-trains, not both", c.Pretrain.Steps, c.Base)
	case c.Pretrain.GateProbe < 0 || (c.Pretrain.GateProbe > 0 && c.Pretrain.MaxSteps < c.Pretrain.Steps):
		return fmt.Errorf("pretrain gate_probe %g must not be negative, and with a gate max_steps %d must be at least steps %d", c.Pretrain.GateProbe, c.Pretrain.MaxSteps, c.Pretrain.Steps)
	case c.Pretrain.RewarmLR < 0 || (c.Pretrain.RewarmLR > 0) != (c.Pretrain.RewarmSteps > 0):
		return fmt.Errorf("pretrain rewarm_lr %g and rewarm_steps %d come together", c.Pretrain.RewarmLR, c.Pretrain.RewarmSteps)
	case c.Pretrain.RewarmLR > 0 && !(c.Pretrain.GateProbe > 0 && c.Pretrain.MaxSteps > c.Pretrain.Steps):
		return fmt.Errorf("pretrain rewarm_lr %g sets the rate of the steps the reading gate adds, so it needs a reading gate (gate_probe) with max_steps %d above steps %d", c.Pretrain.RewarmLR, c.Pretrain.MaxSteps, c.Pretrain.Steps)
	case c.Pretrain.RewarmSteps > 0 && c.Pretrain.RewarmSteps <= pretrainWarmup(c):
		return fmt.Errorf("pretrain rewarm_steps %d: cycles must be longer than the warm-up, %d steps", c.Pretrain.RewarmSteps, pretrainWarmup(c))
	case c.SFT.ContinueSteps < 0 || c.SFT.LR < 0 || c.SFT.MinLR < 0 || c.SFT.MinLR > c.SFT.LR:
		return fmt.Errorf("sft continue_steps %d must not be negative, lr %g positive and min_lr %g between 0 and lr", c.SFT.ContinueSteps, c.SFT.LR, c.SFT.MinLR)
	case c.RL.MinHops > c.RL.MaxHops:
		return fmt.Errorf("rl min_hops %d above max_hops %d", c.RL.MinHops, c.RL.MaxHops)
	case c.RL.Gamma < 0 || c.RL.Gamma > 1 || c.RL.Lambda < 0 || c.RL.Lambda > 1 || c.RL.ValueLR < 0 || c.RL.ValueSteps < 0 || c.RL.Concurrency < 0 || c.RL.Loss.MaxLen < 0:
		return fmt.Errorf("rl gamma %g and lambda %g must be between 0 and 1 (0: the default), value_lr, value_steps, concurrency and max_len not negative", c.RL.Gamma, c.RL.Lambda)
	case c.Eval.QuestionsPerHop < 0 || c.Eval.MaxHops < 0 || (c.Eval.Split != "" && c.Eval.Split != SplitTest && c.Eval.Split != SplitValidation):
		return fmt.Errorf("eval: questions_per_hop %d and max_hops %d must not be negative, split %q test or validation", c.Eval.QuestionsPerHop, c.Eval.MaxHops, c.Eval.Split)
	case c.RL.Group < 2 && c.RL.Estimator != rl.PPO:
		return fmt.Errorf("rl group %d: group-relative advantages need at least 2 episodes per question", c.RL.Group)
	case c.RL.GuideSFT != 0 && (!c.RL.Guide || c.RL.Estimator == rl.PPO):
		return fmt.Errorf("rl guide_sft %g needs guide: true and a group estimator (PPO's advantages come from its value head)", c.RL.GuideSFT)
	}
	if err := c.Backend.validate(c); err != nil {
		return err
	}
	if _, err := rl.ParseEstimator(string(c.RL.Estimator)); err != nil {
		return err
	}
	return nil
}

// RLSettings is the rl section: rl.Config's own settings (algorithm,
// group, epochs, clipping, aggregation, KL, entropy, PPO's critic) and
// what the run adds around the loop: steps, questions per step, the
// learning rate and temperature, the hop counts and the worlds.
type RLSettings struct {
	rl.Config `yaml:",inline"`
	Steps     int     `yaml:"steps"`
	Questions int     `yaml:"questions"` // per step
	LR        float64 `yaml:"lr"`
	// Temperature samples rollouts (the preset's sampling otherwise).
	Temperature float64 `yaml:"temperature"`
	MinHops     int     `yaml:"min_hops"`
	MaxHops     int     `yaml:"max_hops"`
	// Worlds is where RL questions come from: "fresh" (default), a
	// family of new worlds like the training family (seeds from
	// Seed+offsetRL on) that no other phase saw, or "train", the
	// training family SFT imitated. SFT memorises its worlds: on them
	// its policy recites half-remembered names instead of reading
	// (BENCHMARKS.md, "Session 6": 5% EM there, 28% on a new world), so
	// rollouts there teach little that carries to a world it has not
	// seen.
	Worlds string `yaml:"worlds"`
}

// rlKeyOrder is the order the rl section's keys had before it embedded
// rl.Config; config.yaml keeps it so that a config's hash does not change.
// Keys not listed (rl.Config's, all omitted when unset) follow.
var rlKeyOrder = []string{"algorithm", "steps", "questions", "group", "epochs", "lr", "temperature",
	"min_hops", "max_hops", "clip_low", "clip_high", "aggregation", "kl", "kl_coef", "entropy", "worlds"}

// MarshalYAML writes the section in rlKeyOrder.
func (s RLSettings) MarshalYAML() (any, error) {
	type plain RLSettings // without this method
	var n yaml.Node
	if err := n.Encode(plain(s)); err != nil {
		return nil, err
	}
	rank := func(key string) int {
		for i, k := range rlKeyOrder {
			if k == key {
				return i
			}
		}
		return len(rlKeyOrder)
	}
	pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b [2]*yaml.Node) int { return rank(a[0].Value) - rank(b[0].Value) })
	n.Content = n.Content[:0]
	for _, p := range pairs {
		n.Content = append(n.Content, p[0], p[1])
	}
	return &n, nil
}
