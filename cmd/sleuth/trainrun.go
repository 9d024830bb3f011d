package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// runConfig is the YAML of `sleuth train --config FILE`; see
// examples/train/quickstart.yaml.
type runConfig struct {
	Seed int64 `yaml:"seed"`
	// Base, when set, starts the run from a pretrained policy instead of
	// pre-training one: "builtin" (examples/base, made by `sleuth train
	// --config base`) or a directory holding model.safetensors,
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
	// from Seed+1,000,000 on) so it can teach words and copying but no fact;
	// evaluation uses a world no training phase saw (heldOutSeed).
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
	RL struct {
		Algorithm   string  `yaml:"algorithm"`
		Steps       int     `yaml:"steps"`
		Questions   int     `yaml:"questions"` // per step
		Group       int     `yaml:"group"`     // episodes per question
		Epochs      int     `yaml:"epochs"`
		LR          float64 `yaml:"lr"`
		Temperature float64 `yaml:"temperature"`
		MinHops     int     `yaml:"min_hops"`
		MaxHops     int     `yaml:"max_hops"`
		ClipLow     float64 `yaml:"clip_low"`
		ClipHigh    float64 `yaml:"clip_high"`
		Aggregation string  `yaml:"aggregation"`
		KL          string  `yaml:"kl"`
		KLCoef      float64 `yaml:"kl_coef"`
		Entropy     float64 `yaml:"entropy"`
		// Worlds is where RL questions come from: "fresh" (default), a
		// family of new worlds like the training family (seeds from
		// Seed+2,000,000 on) that no other phase saw, or "train", the
		// training family SFT imitated. SFT memorises its worlds: on them
		// its policy recites half-remembered names instead of reading
		// (BENCHMARKS.md, "Session 6": 5% EM there, 28% on a new world), so
		// rollouts there teach little that carries to a world it has not
		// seen.
		Worlds string `yaml:"worlds"`
	} `yaml:"rl"`
	Checkpoint struct {
		Every int `yaml:"every"`
		Keep  int `yaml:"keep"`
	} `yaml:"checkpoint"`
}

// loadTrainConfig reads a config file, or a built-in one by name
// (quickstart, fast, base, reading, progress, fresh-sft); unknown fields are errors.
func loadTrainConfig(nameOrPath string) (runConfig, error) {
	var data []byte
	var err error
	if strings.ContainsAny(nameOrPath, "/.") {
		data, err = os.ReadFile(nameOrPath)
	} else {
		data, err = examples.Training.ReadFile("train/" + nameOrPath + ".yaml")
		if err != nil {
			err = fmt.Errorf("unknown built-in training config %q (quickstart, fast, base, reading, progress, fresh-sft)", nameOrPath)
		}
	}
	if err != nil {
		return runConfig{}, fmt.Errorf("train config %s: %w", nameOrPath, err)
	}
	return parseTrainConfig(nameOrPath, data)
}

var unknownField = regexp.MustCompile(`^(line \d+: )field (\S+) not found in type `)

func parseTrainConfig(name string, data []byte) (runConfig, error) {
	var c runConfig
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
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("train config %s: %w", name, err)
	}
	return c, nil
}

func (c *runConfig) withDefaults() {
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
	if c.RL.Algorithm == "" {
		c.RL.Algorithm = "grpo"
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
}

func (c runConfig) validate() error {
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
	case c.SFT.ContinueSteps < 0 || c.SFT.LR < 0 || c.SFT.MinLR < 0 || c.SFT.MinLR > c.SFT.LR:
		return fmt.Errorf("sft continue_steps %d must not be negative, lr %g positive and min_lr %g between 0 and lr", c.SFT.ContinueSteps, c.SFT.LR, c.SFT.MinLR)
	case c.RL.MinHops > c.RL.MaxHops:
		return fmt.Errorf("rl min_hops %d above max_hops %d", c.RL.MinHops, c.RL.MaxHops)
	case c.RL.Group < 2 && c.RL.Algorithm != "ppo":
		return fmt.Errorf("rl group %d: group-relative advantages need at least 2 episodes per question", c.RL.Group)
	}
	if _, err := rl.ParseEstimator(c.RL.Algorithm); err != nil {
		return err
	}
	return nil
}

// Phases of a run, in order.
const (
	phasePretrain = "pretrain"
	phaseSFT      = "sft"
	phaseRL       = "rl"
	phaseBestSFT  = "best-sft" // SFT continued after RL: the best-SFT baseline
	phaseDone     = "done"
)

func phaseRank(p string) int {
	switch p {
	case phasePretrain:
		return 0
	case phaseSFT:
		return 1
	case phaseRL:
		return 2
	case phaseBestSFT:
		return 3
	}
	return 4
}

// trainRun is one training run in its directory: everything in it is a
// function of the config (the seed included), so a killed run resumed from
// its last checkpoint ends exactly where an uninterrupted one does.
type trainRun struct {
	cfg  runConfig
	dir  string
	errw io.Writer

	worlds  []*world.World // the training family
	train   []world.Question
	ix      *bm25.Index // of every training world's passages
	tok     *tokenizer.BPE
	tr      *model.Trainer
	k       *kernels.Kernels
	preset  agent.Preset
	state   rl.State
	health  rl.Health
	metrics *os.File
	value   *rl.ValueHead
	sftQs   []world.Question // what the oracle demonstrates, built on the first SFT step
	oracle  *rl.Oracle
	probe   *world.World // the reading probe's world (probeReading)
	extra   string       // shown in the report under the summary (the quickstart's table)
}

// metricLine is one line of metrics.jsonl.
type metricLine struct {
	Phase    string        `json:"phase"`
	Step     int           `json:"step"`
	Loss     float64       `json:"loss,omitempty"`
	Tokens   int           `json:"tokens,omitempty"`
	TokensPS float64       `json:"tokens_per_s,omitempty"`
	RL       *rl.StepStats `json:"rl,omitempty"`
	Warnings []rl.Warning  `json:"warnings,omitempty"`
	// ProbeOpen and ProbeClosed are probeReading's losses, every 25th
	// pre-training and SFT step and at each phase's end.
	ProbeOpen   float64 `json:"probe_open,omitempty"`
	ProbeClosed float64 `json:"probe_closed,omitempty"`
}

func (r *trainRun) path(name string) string { return filepath.Join(r.dir, name) }

// open prepares the run: the world, its index, the tokenizer, and the
// trainer (new, or the last checkpoint's when resuming).
func (r *trainRun) open(ctx context.Context, resume bool) error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("train %s: %w", r.dir, err)
	}
	has := rl.HasCheckpoint(r.path("checkpoints"))
	if has && !resume {
		return fmt.Errorf("train %s: the directory holds a run; add --resume to continue it, or choose another --out", r.dir)
	}
	cfgYAML, err := yaml.Marshal(r.cfg)
	if err != nil {
		return err
	}
	var base *baseModel
	if r.cfg.Base != "" {
		if base, err = openBase(r.cfg.Base, r.path("base")); err != nil {
			return err
		}
	}
	id := newRunIdentity(cfgYAML, r.cfg.Seed, base)
	if err := id.check(r.dir, has); err != nil {
		return err
	}
	if err := atomicfile.Write(r.path("config.yaml"), cfgYAML); err != nil {
		return err
	}
	if err := id.write(r.dir); err != nil {
		return err
	}
	var passages []corpus.Passage
	if r.worlds, r.train, passages, err = r.worldFamily(r.cfg.Seed); err != nil {
		return err
	}
	if r.ix, err = openOrBuildIndex(ctx, r.path("index"), passages); err != nil {
		return err
	}
	if r.preset, err = agent.LoadPreset(r.cfg.Preset); err != nil {
		return err
	}
	if r.cfg.TopK > 0 {
		r.preset.TopK = r.cfg.TopK
	}
	presetYAML, err := agent.MarshalPreset(r.preset)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.path("preset.yaml"), presetYAML); err != nil {
		return err
	}
	if base != nil {
		r.tok = base.tok
		if err := r.tok.Save(r.path("tokenizer.json")); err != nil {
			return err
		}
	} else if r.tok, err = r.tokenizer(); err != nil {
		return err
	}
	r.k = kernels.New(0)
	if has {
		tr, st, err := rl.LoadCheckpoint(r.path("checkpoints"))
		if err != nil {
			return err
		}
		r.tr, r.state, r.value = tr, st, st.Value
		fmt.Fprintf(r.errw, "resuming %s at %s step %d\n", r.dir, st.Phase, st.Step)
	} else if base != nil {
		// The base's optimiser state is not kept (it would triple the
		// committed file): SFT starts a fresh one.
		if r.tr, err = r.sftTrainer(base.model); err != nil {
			return err
		}
		r.state = rl.State{Phase: phaseSFT}
	} else {
		m, err := model.NewRandom(model.Config{Dim: r.cfg.Model.Dim, HiddenDim: r.cfg.Model.Dim * 8 / 3, Layers: r.cfg.Model.Layers,
			Heads: r.cfg.Model.Heads, KVHeads: r.cfg.Model.Heads, Vocab: r.tok.VocabSize(), SeqLen: r.cfg.Model.SeqLen,
			RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, uint64(r.cfg.Seed))
		if err != nil {
			return err
		}
		total := r.cfg.Pretrain.Steps + r.cfg.SFT.Steps
		decay := total
		if r.cfg.LRDecaySteps > 0 {
			decay = r.cfg.LRDecaySteps
		}
		tc := model.DefaultTrainConfig(r.cfg.Pretrain.Batch, r.cfg.Model.SeqLen)
		tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = r.cfg.LR, r.cfg.LR/10, min(20, total/10+1), decay
		if r.tr, err = model.NewTrainer(m, tc, uint64(r.cfg.Seed)); err != nil {
			return err
		}
		r.state = rl.State{Phase: phasePretrain}
	}
	r.tr.Model.SetMatmuls(r.k)
	return r.openMetrics()
}

// sftTrainer is a fresh trainer of m on SFT's own schedule (sft.lr).
func (r *trainRun) sftTrainer(m *model.Model) (*model.Trainer, error) {
	tc := model.DefaultTrainConfig(r.cfg.SFT.Batch, m.Config.SeqLen)
	steps := r.cfg.SFT.Steps
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = r.cfg.SFT.LR, r.cfg.SFT.MinLR, min(10, steps/10+1), max(1, steps)
	return model.NewTrainer(m, tc, uint64(r.cfg.Seed))
}

func (r *trainRun) close() {
	if r.metrics != nil {
		r.metrics.Close()
	}
	if r.ix != nil {
		r.ix.Close()
	}
	if r.k != nil {
		r.k.Close()
	}
}

// The seed families of a run with seed s: every world a phase reads is
// generated from s plus one of these offsets (plus the step, for the
// per-step worlds). Training families are s … s+count−1 (count < 500).
// Decisions about a recipe are made on the validation world, never on the
// test world the quickstart reports; TestSeedFamiliesDisjoint checks that
// no validation seed is a test seed of any run seed, nor a training one.
const (
	offsetTest       = 500       // the held-out test world the quickstart reports
	offsetPretrain   = 1_000_000 // + step: pre-training's world per step
	offsetRL         = 2_000_000 // RL's fresh family (rl.worlds: fresh)
	offsetProbe      = 3_000_000 // the reading probe's world
	offsetValidation = 4_000_000 // the validation world recipes are tuned on
	offsetSFTRead    = 5_000_000 // + step: SFT's reading drills
	offsetSFTFresh   = 6_000_000 // + step: SFT's world per step (sft.worlds: fresh)
)

// heldOutSeed is the seed of the test world of a run with seed s: never a
// training world nor a per-step one.
func heldOutSeed(s int64) int64 { return s + offsetTest }

// validationSeed is the seed of the validation world of a run with seed s.
func validationSeed(s int64) int64 { return s + offsetValidation }

func openOrBuildIndex(ctx context.Context, dir string, ps []corpus.Passage) (*bm25.Index, error) {
	if ix, err := bm25.Open(dir); err == nil {
		return ix, nil
	}
	if _, err := bm25.Build(ctx, dir, passageSeq(ps), bm25.BuildOptions{}); err != nil {
		return nil, err
	}
	return bm25.Open(dir)
}

// tokenizer loads the run's tokenizer, training it on the world's text the
// first time (passages, questions and the oracle's turns, with the protocol
// tags as single tokens).
func (r *trainRun) tokenizer() (*tokenizer.BPE, error) {
	path := r.path("tokenizer.json")
	if t, err := tokenizer.Load(path); err == nil {
		if b, ok := t.(*tokenizer.BPE); ok {
			return b, nil
		}
	}
	texts := func(yield func(string) bool) {
		if !yield(r.preset.Prompt) {
			return
		}
		for _, w := range r.worlds {
			for _, p := range w.Passages {
				if !yield(p.Title + "\n" + p.Text) {
					return
				}
			}
			for _, q := range w.Questions {
				for d := range len(q.Chain) + 1 {
					if !yield(q.Question + " " + rl.OracleStep(q, d, "")) {
						return
					}
				}
			}
		}
	}
	tok, err := tokenizer.Train(texts, r.cfg.Tokenizer.Vocab, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: tokenizer.ProtocolTags(), Split: tokenizer.SplitStyle(r.cfg.Tokenizer.Split)})
	if err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	tmp := path + ".tmp"
	if err := tok.Save(tmp); err != nil {
		return nil, err
	}
	return tok, os.Rename(tmp, path)
}

// openMetrics opens metrics.jsonl for appending, first dropping any line
// past the checkpoint (steps a killed run did after its last save, which
// the resumed run does again).
func (r *trainRun) openMetrics() error {
	path := r.path("metrics.jsonl")
	var kept bytes.Buffer
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var m metricLine
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue // a line cut off by the kill
			}
			if r.before(m.Phase, m.Step) {
				kept.Write(sc.Bytes())
				kept.WriteByte('\n')
			}
		}
		f.Close()
	}
	if err := atomicfile.Write(path, kept.Bytes()); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	r.metrics = f
	return nil
}

// before reports whether (phase, step) was done before the current state.
func (r *trainRun) before(phase string, step int) bool {
	pr, cr := phaseRank(phase), phaseRank(r.state.Phase)
	return pr < cr || (pr == cr && step < r.state.Step)
}

func (r *trainRun) log(m metricLine) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := r.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// stepRNG is the randomness of one step: a function of the seed, the phase
// and the step alone, which is what makes resuming exact.
func (r *trainRun) stepRNG(phase string, step int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(phaseRank(phase))<<32|uint64(step)))
}

// checkpoint saves the trainer and state; step is the number of steps done
// in the current phase.
func (r *trainRun) checkpoint() error {
	st := r.state
	st.Value = r.value
	_, err := rl.SaveCheckpoint(r.path("checkpoints"), r.tr, st, r.cfg.Checkpoint.Keep)
	return err
}

// run does what is left of every phase.
func (r *trainRun) run(ctx context.Context) error {
	phases := []struct {
		name  string
		steps int
		step  func(context.Context, int) error
	}{
		{phasePretrain, r.cfg.Pretrain.Steps, r.pretrainStep},
		{phaseSFT, r.cfg.SFT.Steps, r.sftStep},
		{phaseRL, r.cfg.RL.Steps, nil},
		{phaseBestSFT, r.cfg.SFT.ContinueSteps, nil},
	}
	for _, ph := range phases {
		if phaseRank(ph.name) < phaseRank(r.state.Phase) {
			continue
		}
		var err error
		switch ph.name {
		case phasePretrain:
			err = r.runPretrain(ctx)
		case phaseRL:
			if err = r.runRL(ctx); err == nil {
				err = r.savePolicy(r.path("policy"))
			}
		case phaseBestSFT:
			err = r.runBestSFT(ctx)
		default:
			if r.state.Phase == phasePretrain && r.cfg.SFT.LR > 0 {
				if r.tr, err = r.sftTrainer(r.tr.Model); err != nil {
					return err
				}
			}
			if err = r.runPhase(ctx, ph.name, ph.steps, ph.step); err == nil {
				err = r.savePolicy(r.path("sft"))
			}
			if err == nil && r.cfg.SFT.ContinueSteps > 0 {
				_, err = rl.SaveCheckpoint(r.path("sft-state"), r.tr, rl.State{Phase: phaseSFT, Step: r.cfg.SFT.Steps}, 2)
			}
		}
		if err != nil {
			return err
		}
	}
	r.state = rl.State{Phase: phaseDone}
	return r.checkpoint()
}

// runPretrain is pre-training: pretrain.steps, then, with a reading gate,
// blocks of checkpoint.every more steps until the open-book probe passes
// it or pretrain.max_steps is reached. The gate is read only at block
// ends, so a resumed run stops where an uninterrupted one does.
func (r *trainRun) runPretrain(ctx context.Context) error {
	c, every := r.cfg.Pretrain, r.cfg.Checkpoint.Every
	target := c.Steps
	for {
		if err := r.runPhase(ctx, phasePretrain, target, r.pretrainStep); err != nil {
			return err
		}
		done := r.state.Step
		if c.GateProbe <= 0 || done >= c.MaxSteps {
			return nil
		}
		if done > target { // resumed inside a block: finish it first
			target = min(c.MaxSteps, c.Steps+(done-c.Steps+every-1)/every*every)
			continue
		}
		open, closed, err := r.probeReading()
		if err != nil {
			return err
		}
		if open <= c.GateProbe {
			fmt.Fprintf(r.errw, "reading gate passed at step %d: open-book probe %.3f ≤ %.3f (closed-book %.3f)\n", done, open, c.GateProbe, closed)
			return nil
		}
		target = min(c.MaxSteps, done+every)
		fmt.Fprintf(r.errw, "reading gate not passed at step %d (open-book probe %.3f > %.3f): pre-training to step %d\n", done, open, c.GateProbe, target)
	}
}

// runBestSFT trains the best-SFT baseline: SFT resumed from its last step
// (sft-state, weights and optimiser) on the same stream of demonstrations
// for sft.continue_steps more steps, saved as best-sft/.
func (r *trainRun) runBestSFT(ctx context.Context) error {
	n := r.cfg.SFT.ContinueSteps
	if n == 0 {
		return nil
	}
	if r.state.Phase != phaseBestSFT {
		tr, _, err := rl.LoadCheckpoint(r.path("sft-state"))
		if err != nil {
			return fmt.Errorf("best-SFT baseline: %w", err)
		}
		tr.Model.SetMatmuls(r.k)
		r.tr = tr
	}
	err := r.runPhase(ctx, phaseBestSFT, n, func(ctx context.Context, step int) error {
		return r.sftStepAs(ctx, phaseBestSFT, step, r.cfg.SFT.Steps+step)
	})
	if err != nil {
		return err
	}
	return r.savePolicy(r.path("best-sft"))
}

func (r *trainRun) runPhase(ctx context.Context, name string, steps int, step func(context.Context, int) error) error {
	if r.state.Phase != name {
		r.state = rl.State{Phase: name}
	}
	rep := progress.New(r.errw, name, "steps", int64(steps))
	rep.Skip(r.state.Step)
	for r.state.Step < steps {
		if err := ctx.Err(); err != nil {
			return r.interrupted(err)
		}
		if err := step(ctx, r.state.Step); err != nil {
			if ctx.Err() != nil {
				return r.interrupted(ctx.Err())
			}
			return fmt.Errorf("%s step %d: %w", name, r.state.Step, err)
		}
		r.state.Step++
		rep.Add(1)
		if r.state.Step%r.cfg.Checkpoint.Every == 0 || r.state.Step == steps {
			if err := r.checkpoint(); err != nil {
				return err
			}
		}
	}
	rep.Finish()
	return nil
}

// interrupted saves the state at the last finished step before giving up.
func (r *trainRun) interrupted(cause error) error {
	if err := r.checkpoint(); err != nil {
		return fmt.Errorf("interrupted (%v), and the checkpoint failed: %w", cause, err)
	}
	return fmt.Errorf("interrupted at %s step %d (checkpoint saved; continue with --resume): %w", r.state.Phase, r.state.Step, cause)
}

// pretrainStep is language modelling on passages, three to a sequence, of
// a world generated for this step alone: with names never seen twice the
// model cannot learn facts, only the language of the passages and,
// eventually, to copy the names that recur in its context.
func (r *trainRun) pretrainStep(ctx context.Context, step int) error {
	rng := r.stepRNG(phasePretrain, step)
	late := step >= r.cfg.Pretrain.TraceFrom
	traces := late && r.cfg.Pretrain.TraceRows > 0
	w, err := stepWorld(r.cfg.Seed+offsetPretrain+int64(step), traces || (late && r.cfg.Pretrain.ReadChains > 0))
	if err != nil {
		return err
	}
	ps := w.Passages
	batch := make([][]int, r.cfg.Pretrain.Batch)
	n := 0
	if traces {
		rows, err := r.traceRows(ctx, w, rng)
		if err != nil {
			return fmt.Errorf("pre-training step %d: %w", step, err)
		}
		copy(batch, rows)
	}
	if late && r.cfg.Pretrain.ReadRows > 0 {
		copy(batch[len(batch)-r.cfg.Pretrain.ReadRows:], r.readRows(w, rng))
	}
	for i := range batch {
		if batch[i] != nil {
			n += len(batch[i]) - 1
			continue
		}
		var d []int
		for range 3 {
			p := ps[rng.IntN(len(ps))]
			d = append(d, r.tok.Encode(p.Title+"\n"+p.Text+"\n\n")...)
		}
		if (traces && i < r.cfg.Pretrain.TraceRows+r.cfg.Pretrain.CopyRows) || (!traces && i < r.cfg.Pretrain.CopyRows) {
			d = copyDrill(d, 96, rng)
		}
		batch[i] = d[:min(len(d), r.cfg.Model.SeqLen+1)]
		n += len(batch[i]) - 1
	}
	t0 := time.Now()
	loss, err := rl.LMStep(r.tr, batch)
	if err != nil {
		return err
	}
	m := metricLine{Phase: phasePretrain, Step: step, Loss: loss, Tokens: n, TokensPS: float64(n) / time.Since(t0).Seconds()}
	if err := r.probeAt(&m, step, r.cfg.Pretrain.Steps); err != nil {
		return err
	}
	return r.log(m)
}

// stepWorld is the small world a training step reads (60 entities): with
// questions, 300 of them for its oracle traces and chain drills; without,
// 10, as only its passages and facts are read.
func stepWorld(seed int64, questions bool) (*world.World, error) {
	nq := 10
	if questions {
		nq = 300
	}
	return world.Generate(world.Config{Seed: seed, Entities: 60, Questions: nq})
}

// stepIndex indexes a step's world in dir, replacing the last step's.
func stepIndex(ctx context.Context, dir string, w *world.World) (*bm25.Index, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	return openOrBuildIndex(ctx, dir, w.Passages)
}

// probeAt adds the reading probe to m every 25th step and at the last.
func (r *trainRun) probeAt(m *metricLine, step, steps int) error {
	if step%25 != 0 && step != steps-1 {
		return nil
	}
	var err error
	m.ProbeOpen, m.ProbeClosed, err = r.probeReading()
	return err
}

// traceRows runs the oracle on chain questions of w through a compact
// prompt and w's own index, and packs the token streams into
// Pretrain.TraceRows rows.
func (r *trainRun) traceRows(ctx context.Context, w *world.World, rng *rand.Rand) ([][]int, error) {
	qs := chainQuestions(w.Questions, 1, r.cfg.Pretrain.MaxHops)
	if len(qs) == 0 {
		return nil, fmt.Errorf("pre-training world has no chain questions of at most %d hops", r.cfg.Pretrain.MaxHops)
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	ix, err := stepIndex(ctx, r.path("pretrain-index"), w)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	p := r.preset
	p.Prompt = "Question: {question}\n"
	or := &agent.Runner{Preset: p, Policy: rl.NewOracle(qs, r.tok.Encode, r.tok.Decode), Tools: searchTools(ix)}
	want, limit := min(r.cfg.Pretrain.TraceTokens, r.cfg.Model.SeqLen), r.cfg.Model.SeqLen+1
	rows := make([][]int, 0, r.cfg.Pretrain.TraceRows)
	var row []int
	for next, used := 0, 0; ; {
		if next >= len(qs) && used == 0 {
			return nil, fmt.Errorf("every oracle trace is longer than seq_len %d", r.cfg.Model.SeqLen)
		}
		n := 8
		aq := make([]agent.Question, n)
		for j := range aq {
			q := qs[(next+j)%len(qs)] // a small world repeats its questions rather than stop short
			aq[j] = agent.Question{ID: q.ID, Text: q.Question}
		}
		next += n
		for _, ep := range or.RunMany(ctx, aq, n) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			ids, _, _ := ep.Tokens(agent.MainRole)
			if len(ids) > limit {
				continue // longer than the context: it would lose its answer
			}
			used++
			if len(row) > 0 && len(row)+len(ids) > limit {
				rows, row = append(rows, row), nil // whole episodes only: an answer is never cut off
				if len(rows) == cap(rows) {
					return rows, nil
				}
			}
			row = append(row, ids...)
			if len(row) >= want {
				rows, row = append(rows, row), nil
				if len(rows) == cap(rows) {
					return rows, nil
				}
			}
		}
	}
}

// readRows packs Pretrain.ReadRows rows of reading drills on w's passages.
func (r *trainRun) readRows(w *world.World, rng *rand.Rand) [][]int {
	rows, _ := r.readDrills(w, rng, r.cfg.Pretrain.ReadRows, true, r.cfg.Pretrain.ReadChains)
	return rows
}

// readDrills packs n rows of reading drills: an information block of two
// passages of w (left out when info is false: the closed-book control),
// then a question on every fact they state, each answered at once in the
// oracle's words. With probability chains a block instead shows the
// passages of a chain question of 2 to pretrain.max_hops hops and starts with
// that question played through in the oracle's words (each hop's search,
// the fact it found, the next hop or the answer), so that stating a fact
// is followed by "So the answer is" only when the question asks no
// further hop. mask marks the tokens where a single fact's object is read
// out.
func (r *trainRun) readDrills(w *world.World, rng *rand.Rand, n int, info bool, chains float64) (rows [][]int, masks [][]float32) {
	names := make(map[string]string, len(w.Entities))
	for _, e := range w.Entities {
		names[e.ID] = e.Name
	}
	facts := map[string][]world.Fact{}
	for _, f := range w.Facts {
		facts[f.PassageID] = append(facts[f.PassageID], f)
	}
	passages := make(map[string]corpus.Passage, len(w.Passages))
	for _, p := range w.Passages {
		passages[p.ID] = p
	}
	var cqs []world.Question
	if chains > 0 {
		cqs = chainQuestions(w.Questions, 2, r.cfg.Pretrain.MaxHops)
	}
	want := min(r.cfg.Pretrain.TraceTokens, r.cfg.Model.SeqLen)
	rows, masks = make([][]int, n), make([][]float32, n)
	add := func(i int, text string, m float32) {
		ids := r.tok.Encode(text)
		rows[i] = append(rows[i], ids...)
		for range ids {
			masks[i] = append(masks[i], m)
		}
	}
	for i := range rows {
		for len(rows[i]) < want {
			var ps []corpus.Passage
			var chain *world.Question
			if len(cqs) > 0 && rng.Float64() < chains {
				c := cqs[rng.IntN(len(cqs))]
				chain = &c
				for _, h := range c.Chain {
					ps = append(ps, passages[h.PassageID])
				}
				rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
			} else {
				ps = []corpus.Passage{w.Passages[rng.IntN(len(w.Passages))], w.Passages[rng.IntN(len(w.Passages))]}
			}
			var b strings.Builder
			var fs []world.Fact
			b.WriteString("<information>")
			for d, p := range ps {
				fmt.Fprintf(&b, "Doc %d(Title: %s) %s\n", d+1, p.Title, p.Text)
				fs = append(fs, facts[p.ID]...)
			}
			b.WriteString("</information>\n")
			if info {
				add(i, b.String(), 0)
			}
			if chain != nil {
				add(i, "Question: "+chain.Question+"\n", 0)
				for done := range len(chain.Chain) + 1 {
					add(i, rl.OracleStep(*chain, done, b.String())+"\n", 0)
				}
			}
			rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
			for _, f := range fs {
				frames := world.QuestionFrames(f.Relation)
				ans := f.Value
				if f.Object != "" {
					ans = names[f.Object]
				}
				if len(frames) == 0 || ans == "" {
					continue
				}
				subj := names[f.Subject]
				q := strings.ReplaceAll(frames[rng.IntN(len(frames))], "{x}", subj)
				// The oracle's words (rl.OracleStep), so reading learnt here
				// is reading in the agent's protocol.
				add(i, "Question: "+q+"\n<think>The "+rl.RelationWords(f.Relation)+" of "+subj+" is", 0)
				add(i, " "+ans, 1)
				add(i, ". So the answer is "+ans+".</think>\n<answer> "+ans+" </answer>\n", 0)
			}
			add(i, "\n", 0)
		}
		k := min(len(rows[i]), r.cfg.Model.SeqLen+1)
		rows[i], masks[i] = rows[i][:k], masks[i][:k]
	}
	return rows, masks
}

// probeReading measures whether the policy reads: the mean loss on the
// answers of reading drills of a world no phase trains on, with the
// passages shown (open) and without them (closed). Only reading can make
// open lower than closed.
func (r *trainRun) probeReading() (open, closed float64, err error) {
	if r.probe == nil {
		w, err := stepWorld(r.cfg.Seed+offsetProbe, false)
		if err != nil {
			return 0, 0, err
		}
		r.probe = w
	}
	for k, info := range []bool{true, false} {
		rows, masks := r.readDrills(r.probe, rand.New(rand.NewPCG(uint64(r.cfg.Seed), 3)), 4, info, 0)
		l, err := rl.EvalLoss(r.tr, rows, masks)
		if err != nil {
			return 0, 0, fmt.Errorf("reading probe: %w", err)
		}
		if k == 0 {
			open = l
		} else {
			closed = l
		}
	}
	return open, closed, nil
}

// copyDrill packs a row of n tokens with segments of 3–8 distinct tokens
// drawn from text, each segment written three times back to back.
func copyDrill(text []int, n int, rng *rand.Rand) []int {
	out := make([]int, 0, n+24)
	for len(out) < n && len(text) > 8 {
		k := 3 + rng.IntN(6)
		seen := map[int]bool{}
		var seg []int
		for tries := 0; len(seg) < k && tries < 64; tries++ {
			t := text[rng.IntN(len(text))]
			if !seen[t] {
				seen[t] = true
				seg = append(seg, t)
			}
		}
		for range 3 {
			out = append(out, seg...)
		}
	}
	return out[:min(len(out), n)]
}

// chainQuestions are the chain questions of qs of minHops to maxHops hops.
func chainQuestions(qs []world.Question, minHops, maxHops int) []world.Question {
	var out []world.Question
	for _, q := range qs {
		if q.Type == world.Chain && q.Hops >= minHops && q.Hops <= maxHops {
			out = append(out, q)
		}
	}
	return out
}

// worldFamily generates world.count worlds of the configured shape on
// seeds base, base+1, …: the worlds, their train-split questions and all
// their passages.
func (r *trainRun) worldFamily(base int64) ([]*world.World, []world.Question, []corpus.Passage, error) {
	var (
		ws       []*world.World
		qs       []world.Question
		passages []corpus.Passage
	)
	for i := range r.cfg.World.Count {
		w, err := world.Generate(world.Config{Seed: base + int64(i), Entities: r.cfg.World.Entities, Questions: r.cfg.World.Questions})
		if err != nil {
			return nil, nil, nil, err
		}
		ws = append(ws, w)
		qs = append(qs, w.Split(world.Train)...)
		passages = append(passages, w.Passages...)
	}
	return ws, qs, passages, nil
}

// rlWorld returns RL's questions (chain questions of rl.min_hops to
// rl.max_hops) and the index their episodes search: the training family's,
// or with rl.worlds fresh a family of the same shape on seeds no other
// phase uses, indexed in rl-index. The caller closes the index unless it
// is r.ix.
func (r *trainRun) rlWorld(ctx context.Context) ([]world.Question, *bm25.Index, error) {
	qs, ix := r.train, r.ix
	if r.cfg.RL.Worlds != "train" {
		_, fresh, passages, err := r.worldFamily(r.cfg.Seed + offsetRL)
		if err != nil {
			return nil, nil, err
		}
		qs = fresh
		if ix, err = openOrBuildIndex(ctx, r.path("rl-index"), passages); err != nil {
			return nil, nil, fmt.Errorf("the RL worlds' index: %w", err)
		}
	}
	return chainQuestions(qs, r.cfg.RL.MinHops, r.cfg.RL.MaxHops), ix, nil
}

// sftStep imitates the oracle's shortest correct search path, run through
// the real runner and index so the token streams are exactly the policy's.
func (r *trainRun) sftStep(ctx context.Context, step int) error {
	return r.sftStepAs(ctx, phaseSFT, step, step)
}

// sftStepAs is SFT step data (its demonstrations and drills), logged as
// step of phase.
func (r *trainRun) sftStepAs(ctx context.Context, phase string, step, data int) error {
	var qs []world.Question
	var or *agent.Runner
	if r.cfg.SFT.Worlds == "fresh" {
		w, err := stepWorld(r.cfg.Seed+offsetSFTFresh+int64(data), true)
		if err != nil {
			return err
		}
		qs = chainQuestions(w.Questions, 1, r.cfg.SFT.MaxHops)
		ix, err := stepIndex(ctx, r.path("sft-index"), w)
		if err != nil {
			return fmt.Errorf("SFT step %d: %w", data, err)
		}
		defer ix.Close()
		or = &agent.Runner{Preset: r.preset, Policy: rl.NewOracle(qs, r.tok.Encode, r.tok.Decode), Tools: searchTools(ix)}
	} else {
		if r.oracle == nil {
			if r.sftQs = chainQuestions(r.train, 1, r.cfg.SFT.MaxHops); len(r.sftQs) == 0 {
				return fmt.Errorf("no chain questions of at most %d hops to demonstrate", r.cfg.SFT.MaxHops)
			}
			r.oracle = rl.NewOracle(r.sftQs, r.tok.Encode, r.tok.Decode)
		}
		qs, or = r.sftQs, &agent.Runner{Preset: r.preset, Policy: r.oracle, Tools: searchTools(r.ix)}
	}
	rng := r.stepRNG(phaseSFT, data)
	picked := pickQuestions(qs, r.cfg.SFT.Batch, rng)
	if shares := r.cfg.SFT.HopShares; shares != nil {
		picked = pickByHops(qs, r.cfg.SFT.Batch, shares, rng)
	}
	eps := or.RunMany(ctx, picked, r.cfg.SFT.Batch)
	if err := ctx.Err(); err != nil {
		return err
	}
	var docs [][]int
	if r.cfg.SFT.ReadRows > 0 {
		w, err := stepWorld(r.cfg.Seed+offsetSFTRead+int64(data), r.cfg.Pretrain.ReadChains > 0)
		if err != nil {
			return err
		}
		docs, _ = r.readDrills(w, rng, r.cfg.SFT.ReadRows, true, r.cfg.Pretrain.ReadChains)
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
	m := metricLine{Phase: phase, Step: step, Loss: loss, Tokens: n, TokensPS: float64(n) / time.Since(t0).Seconds()}
	if err := r.probeAt(&m, data, r.cfg.SFT.Steps+r.cfg.SFT.ContinueSteps); err != nil {
		return err
	}
	return r.log(m)
}

// searchTools is the tool set of every episode the run plays: search over ret.
func searchTools(ret search.Retriever) map[string]agent.Tool {
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

// runRL is the reinforcement-learning phase on the preset's reward.
func (r *trainRun) runRL(ctx context.Context) error {
	c := r.cfg.RL
	rc, err := reward.LoadConfig(r.cfg.Reward)
	if err != nil {
		return err
	}
	fn, err := rc.Build(nil)
	if err != nil {
		return err
	}
	est, err := rl.ParseEstimator(c.Algorithm)
	if err != nil {
		return err
	}
	var ref *model.Model
	if c.KL != "" {
		if ref, err = model.Load(r.path("sft")); err != nil {
			return fmt.Errorf("the KL reference (the SFT policy): %w", err)
		}
		ref.SetMatmuls(r.k)
	}
	// RL runs at a constant, lower learning rate.
	r.tr.Cfg.LR, r.tr.Cfg.MinLR, r.tr.Cfg.WarmupSteps, r.tr.Cfg.DecaySteps = c.LR, c.LR, 0, 0
	qs, ix, err := r.rlWorld(ctx)
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
	r.tr.Model.Deterministic = true // a rollout must not depend on how requests were batched
	client := local.New(r.tr.Model, r.tok, local.Config{NoBOS: true})
	loop := &rl.Loop{Policy: r.tr.Model, Ref: ref, Trainer: r.tr, Reward: fn, Value: r.value,
		Runner: &agent.Runner{Preset: p, Policy: client, Tools: searchTools(ix)},
		Cfg: rl.Config{Estimator: est, Group: c.Group, Epochs: c.Epochs, Seed: r.cfg.Seed,
			Loss: rl.LossConfig{ClipLow: c.ClipLow, ClipHigh: c.ClipHigh, Aggregation: rl.Aggregation(c.Aggregation),
				KL: rl.KLEstimator(c.KL), KLCoef: c.KLCoef, Entropy: c.Entropy}}}
	samples, err := os.OpenFile(r.path("samples.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
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
			fmt.Fprintf(r.errw, "warning: %s\n", w)
		}
		fmt.Fprintf(r.errw, "%s step %d: reward %.3f, EM %.2f, searches %.2f, %0.f tokens, entropy %.2f, clip %.2f, kl %.4f, no-signal %.0f%%\n",
			c.Algorithm, step, st.Reward, st.EM, st.Searches, st.ResponseLen, st.Entropy, st.ClipFraction, st.KL, 100*st.NoSignal)
		return r.log(metricLine{Phase: phaseRL, Step: step, RL: &st, Warnings: ws})
	})
}

// savePolicy writes the model and its tokenizer where sleuth ask --llm
// local:DIR and sleuth serve --model DIR load them.
// The directory is swapped whole, so a kill at any moment leaves the old
// policy or the new one, never none.
func (r *trainRun) savePolicy(dir string) error {
	return atomicfile.ReplaceDir(dir, func(tmp string) error {
		if err := r.tr.Model.Save(tmp); err != nil {
			return err
		}
		return r.tok.Save(filepath.Join(tmp, "tokenizer.json"))
	})
}
