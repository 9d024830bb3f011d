package train

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/tinker"
	"github.com/sleuth-research/sleuth/world"
)

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

// Run is one training run in its directory: everything in it is a
// function of the config (the seed included), so a killed run resumed from
// its last checkpoint ends exactly where an uninterrupted one does.
//
// Set Cfg, Dir and Log (and BuiltinBase when Cfg.Base may be "builtin"),
// then Open, Train and Close; a Run is not safe for concurrent use.
type Run struct {
	Cfg Config
	Dir string
	Log io.Writer // progress, warnings and the gate's decisions
	// BuiltinBase holds the built-in base checkpoint under base/ (the
	// embedded examples.Base): what base: builtin names.
	BuiltinBase fs.FS
	// Extra is shown in the report under the summary (the quickstart's
	// table).
	Extra string

	worlds  []*world.World // the training family
	train   []world.Question
	ix      *bm25.Index // of every training world's passages
	tok     *tokenizer.BPE
	tr      rl.Learner   // the engine: in-process, or a Tinker server (backend.go)
	pol     *model.Model // the policy's weights here: tr's own, or copied from the server after every step
	k       *kernels.Kernels
	preset  agent.Preset
	proto   rl.Protocol // the preset's, which the teacher and the drills write in
	state   rl.State
	health  rl.Health
	metrics *os.File
	value   *rl.ValueHead
	sftQs   []world.Question // what the oracle demonstrates, built on the first SFT step
	demos   demos            // what SFT kept and dropped of the teacher's episodes
	oracle  *agent.Runner    // the teacher on the training family, built on the first SFT step
	// closeOracle stops what the oracle's tools started (a simulated web).
	closeOracle func()
	probe       *world.World // the reading probe's world (probeReading)
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
	// Dropped counts the step's teacher episodes SFT refused: malformed,
	// unanswered or answered wrongly (goodDemo).
	Dropped int `json:"dropped,omitempty"`
}

// Path is the file or directory name in the run's directory.
func (r *Run) Path(name string) string { return filepath.Join(r.Dir, name) }

// Open prepares the run: the world, its index, the tokenizer, and the
// trainer (new, or the last checkpoint's when resuming).
func (r *Run) Open(ctx context.Context, resume bool) error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("train %s: %w", r.Dir, err)
	}
	has := rl.HasCheckpoint(r.Path("checkpoints"))
	if resume && r.Cfg.Backend.Tinker != "" {
		return fmt.Errorf("train %s: a run on backend tinker cannot be resumed: its optimiser state lives on the server", r.Dir)
	}
	if has && !resume {
		return fmt.Errorf("train %s: the directory holds a run; add --resume to continue it, or choose another --out", r.Dir)
	}
	cfgYAML, err := yaml.Marshal(r.Cfg)
	if err != nil {
		return err
	}
	var (
		tr *model.Trainer
		st *rl.State
	)
	if has {
		var s rl.State
		if tr, s, err = rl.LoadCheckpoint(r.Path("checkpoints")); err != nil {
			return err
		}
		st = &s
	}
	var base *baseModel
	if r.Cfg.Base != "" {
		if base, err = openBase(r.Cfg.Base, r.Path("base"), r.BuiltinBase); err != nil {
			return err
		}
	}
	id := newRunIdentity(cfgYAML, r.Cfg.Seed, base)
	applied, err := id.check(r.Dir, has, cfgYAML, st, r.Cfg.Pretrain.Steps)
	if err != nil {
		return err
	}
	for _, c := range applied {
		fmt.Fprintf(r.Log, "resume: %s was %s, now %s\n", c.Key, c.Old, c.New)
	}
	if err := atomicfile.Write(r.Path("config.yaml"), cfgYAML); err != nil {
		return err
	}
	if err := id.write(r.Dir); err != nil {
		return err
	}
	var passages []corpus.Passage
	if r.worlds, r.train, passages, err = r.worldFamily(r.Cfg.Seed); err != nil {
		return err
	}
	if r.ix, err = openOrBuildIndex(ctx, r.Path("index"), passages); err != nil {
		return err
	}
	if r.preset, err = agent.LoadPreset(r.Cfg.Preset); err != nil {
		return err
	}
	if r.Cfg.TopK > 0 {
		r.preset.TopK = r.Cfg.TopK
	}
	r.proto = rl.ProtocolOf(r.preset)
	presetYAML, err := agent.MarshalPreset(r.preset)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.Path("preset.yaml"), presetYAML); err != nil {
		return err
	}
	if base != nil {
		r.tok = base.tok
		if err := r.tok.Save(r.Path("tokenizer.json")); err != nil {
			return err
		}
	} else if r.tok, err = r.tokenizer(); err != nil {
		return err
	}
	r.k = kernels.New(0)
	if has {
		r.tr, r.pol, r.state, r.value = tr, tr.Model, *st, st.Value
		fmt.Fprintf(r.Log, "resuming %s at %s step %d\n", r.Dir, st.Phase, st.Step)
	} else if base != nil {
		// The base's optimiser state is not kept (it would triple the
		// committed file): SFT starts a fresh one.
		if r.tr, err = r.sftTrainer(ctx, base.model); err != nil {
			return err
		}
		r.pol = base.model
		r.state = rl.State{Phase: phaseSFT}
	} else {
		m, err := model.NewRandom(model.Config{Dim: r.Cfg.Model.Dim, HiddenDim: r.Cfg.Model.Dim * 8 / 3, Layers: r.Cfg.Model.Layers,
			Heads: r.Cfg.Model.Heads, KVHeads: r.Cfg.Model.Heads, Vocab: r.tok.VocabSize(), SeqLen: r.Cfg.Model.SeqLen,
			RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}, uint64(r.Cfg.Seed))
		if err != nil {
			return err
		}
		total := r.Cfg.Pretrain.Steps + r.Cfg.SFT.Steps
		decay := total
		if r.Cfg.LRDecaySteps > 0 {
			decay = r.Cfg.LRDecaySteps
		}
		tc := model.DefaultTrainConfig(r.Cfg.Pretrain.Batch, r.Cfg.Model.SeqLen)
		tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = r.Cfg.LR, r.Cfg.LR/10, pretrainWarmup(r.Cfg), decay
		if r.tr, err = model.NewTrainer(m, tc, uint64(r.Cfg.Seed)); err != nil {
			return err
		}
		r.pol = m
		r.state = rl.State{Phase: phasePretrain}
	}
	r.pol.SetMatmuls(r.k)
	return r.openMetrics()
}

// pretrainWarmup is the warm-up of pre-training's schedule, and of each
// re-warm cycle (pretrain.rewarm_lr).
func pretrainWarmup(c Config) int { return min(20, (c.Pretrain.Steps+c.SFT.Steps)/10+1) }

// sftTrainer is a fresh trainer of m on SFT's own schedule (sft.lr).
func (r *Run) sftTrainer(ctx context.Context, m *model.Model) (rl.Learner, error) {
	tc := model.DefaultTrainConfig(r.Cfg.SFT.Batch, m.Config.SeqLen)
	steps := r.Cfg.SFT.Steps
	tc.LR, tc.MinLR, tc.WarmupSteps, tc.DecaySteps = r.Cfg.SFT.LR, r.Cfg.SFT.MinLR, min(10, steps/10+1), max(1, steps)
	return r.learner(ctx, m, tc)
}

func (r *Run) Close() {
	if c, ok := r.tr.(*tinker.Client); ok {
		if err := c.Close(context.Background()); err != nil {
			fmt.Fprintf(r.Log, "warning: %v\n", err)
		}
	}
	if r.metrics != nil {
		r.metrics.Close()
	}
	if r.closeOracle != nil {
		r.closeOracle()
	}
	if r.ix != nil {
		r.ix.Close()
	}
	if r.k != nil {
		r.k.Close()
	}
}

func openOrBuildIndex(ctx context.Context, dir string, ps []corpus.Passage) (*bm25.Index, error) {
	if ix, err := bm25.Open(dir); err == nil {
		return ix, nil
	}
	if _, err := bm25.Build(ctx, dir, corpus.Seq(ps), bm25.BuildOptions{}); err != nil {
		return nil, err
	}
	return bm25.Open(dir)
}

// tokenizer loads the run's tokenizer, training it on the world's text the
// first time (passages, questions and the oracle's turns, with the
// preset's protocol tags as single tokens).
func (r *Run) tokenizer() (*tokenizer.BPE, error) {
	path := r.Path("tokenizer.json")
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
					if !yield(q.Question + " " + r.proto.Step(q, d, "")) {
						return
					}
				}
			}
		}
	}
	tok, err := tokenizer.Train(texts, r.Cfg.Tokenizer.Vocab, tokenizer.TrainOptions{SpecialTokens: tokenizer.DefaultSpecialTokens(), AddedTokens: r.proto.Tokens(), Split: tokenizer.SplitStyle(r.Cfg.Tokenizer.Split)})
	if err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	tmp := path + ".tmp"
	if err := tok.Save(tmp); err != nil {
		return nil, err
	}
	return tok, os.Rename(tmp, path)
}

// TrainAll opens (or, with resume, continues) the run, trains what is
// left and writes its report, also when stopped early. The caller closes
// the run.
func (r *Run) TrainAll(ctx context.Context, resume bool) error {
	if err := r.Open(ctx, resume); err != nil {
		return err
	}
	err := r.Train(ctx)
	if err == nil && r.Cfg.Eval.QuestionsPerHop > 0 {
		err = r.evaluateRecipe(ctx)
	}
	if rerr := r.WriteReport(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Questions are the training family's train-split questions (after Open).
func (r *Run) Questions() []world.Question { return r.train }

// HasCheckpoint reports whether the run's directory holds a checkpoint to
// resume from.
func (r *Run) HasCheckpoint() bool { return rl.HasCheckpoint(r.Path("checkpoints")) }
