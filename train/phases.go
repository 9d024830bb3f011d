package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/tinker"
)

// openMetrics opens metrics.jsonl for appending, first dropping any line
// past the checkpoint (steps a killed run did after its last save, which
// the resumed run does again).
func (r *Run) openMetrics() error {
	path := r.Path("metrics.jsonl")
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
				if m.Phase == phaseSFT || m.Phase == phaseBestSFT {
					// The refusal counts over the whole run, so a resumed
					// run starts from what the steps before it saw.
					r.demos.seen += r.Cfg.SFT.Batch
					r.demos.dropped += m.Dropped
				}
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
func (r *Run) before(phase string, step int) bool {
	pr, cr := phaseRank(phase), phaseRank(r.state.Phase)
	return pr < cr || (pr == cr && step < r.state.Step)
}

func (r *Run) log(m metricLine) error {
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
func (r *Run) stepRNG(phase string, step int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(r.Cfg.Seed), uint64(phaseRank(phase))<<32|uint64(step)))
}

// checkpoint saves the trainer and state; step is the number of steps done
// in the current phase.
func (r *Run) checkpoint() error {
	tr, ok := r.tr.(*model.Trainer)
	if !ok {
		return nil // a remote optimiser cannot be saved here: such runs are not resumable (backend.go)
	}
	st := r.state
	st.Value = r.value
	_, err := rl.SaveCheckpoint(r.Path("checkpoints"), tr, st, r.Cfg.Checkpoint.Keep)
	return err
}

// run does what is left of every phase.
func (r *Run) Train(ctx context.Context) error {
	phases := []struct {
		name  string
		steps int
		step  func(context.Context, int) error
	}{
		{phasePretrain, r.Cfg.Pretrain.Steps, r.pretrainStep},
		{phaseSFT, r.Cfg.SFT.Steps, r.sftStep},
		{phaseRL, r.Cfg.RL.Steps, nil},
		{phaseBestSFT, r.Cfg.SFT.ContinueSteps, nil},
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
				err = r.savePolicy(r.Path("policy"))
			}
		case phaseBestSFT:
			err = r.runBestSFT(ctx)
		default:
			if r.state.Phase == phasePretrain && r.Cfg.SFT.LR > 0 {
				if r.tr, err = r.sftTrainer(ctx, r.pol); err != nil {
					return err
				}
			}
			if err = r.runPhase(ctx, ph.name, ph.steps, ph.step); err == nil {
				err = r.savePolicy(r.Path("sft"))
			}
			if err == nil && r.Cfg.SFT.ContinueSteps > 0 {
				err = r.saveSFTState(ctx)
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
// blocks of checkpoint.every (or pretrain.rewarm_steps) more steps until
// the open-book probe passes it or pretrain.max_steps is reached. The gate is read only at block
// ends, so a resumed run stops where an uninterrupted one does.
func (r *Run) runPretrain(ctx context.Context) error {
	c, every := r.Cfg.Pretrain, r.Cfg.Checkpoint.Every
	// Set on every start, not only a fresh one, so a checkpoint written
	// before the setting existed (or changed while resumable) runs with it.
	tc := r.tr.Settings()
	tc.RestartStep, tc.RestartLR, tc.RestartEvery = 0, 0, 0
	if c.RewarmLR > 0 {
		tc.RestartStep, tc.RestartLR, tc.RestartEvery = c.Steps, c.RewarmLR, c.RewarmSteps
		every = c.RewarmSteps
		// The cycles are the gate's: SFT that goes on with this trainer
		// (no sft.lr) keeps the first schedule, not a next re-warm.
		defer func() { tc.RestartStep, tc.RestartLR, tc.RestartEvery = 0, 0, 0 }()
	}
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
			fmt.Fprintf(r.Log, "reading gate passed at step %d: open-book probe %.3f ≤ %.3f (closed-book %.3f)\n", done, open, c.GateProbe, closed)
			return nil
		}
		target = min(c.MaxSteps, done+every)
		fmt.Fprintf(r.Log, "reading gate not passed at step %d (open-book probe %.3f > %.3f): pre-training to step %d\n", done, open, c.GateProbe, target)
	}
}

// runBestSFT trains the best-SFT baseline: SFT resumed from its last step
// (sft-state, weights and optimiser) on the same stream of demonstrations
// for sft.continue_steps more steps, saved as best-sft/.
func (r *Run) runBestSFT(ctx context.Context) error {
	n := r.Cfg.SFT.ContinueSteps
	if n == 0 {
		return nil
	}
	if r.state.Phase != phaseBestSFT {
		if err := r.loadSFTState(ctx); err != nil {
			return fmt.Errorf("best-SFT baseline: %w", err)
		}
	}
	err := r.runPhase(ctx, phaseBestSFT, n, func(ctx context.Context, step int) error {
		return r.sftStepAs(ctx, phaseBestSFT, step, r.Cfg.SFT.Steps+step)
	})
	if err != nil {
		return err
	}
	return r.savePolicy(r.Path("best-sft"))
}

func (r *Run) runPhase(ctx context.Context, name string, steps int, step func(context.Context, int) error) error {
	if r.state.Phase != name {
		r.state = rl.State{Phase: name}
	}
	rep := progress.New(r.Log, name, "steps", int64(steps))
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
		if r.state.Step%r.Cfg.Checkpoint.Every == 0 || r.state.Step == steps {
			if err := r.checkpoint(); err != nil {
				return err
			}
		}
	}
	rep.Finish()
	return nil
}

// interrupted saves the state at the last finished step before giving up.
func (r *Run) interrupted(cause error) error {
	if err := r.checkpoint(); err != nil {
		return fmt.Errorf("interrupted (%v), and the checkpoint failed: %w", cause, err)
	}
	return fmt.Errorf("interrupted at %s step %d (checkpoint saved; continue with --resume): %w", r.state.Phase, r.state.Step, cause)
}

// savePolicy writes the model and its tokenizer where sleuth ask --llm
// local:DIR and sleuth serve --model DIR load them.
// The directory is swapped whole, so a kill at any moment leaves the old
// policy or the new one, never none.
func (r *Run) savePolicy(dir string) error { return savePolicyDir(dir, r.pol, r.tok) }

// sftStateName is the server's name for SFT's last state on a remote
// backend.
const sftStateName = "sft-state"

// saveSFTState keeps SFT's last weights and optimiser for the best-SFT
// baseline: in sft-state/ locally, under a name on a Tinker server.
func (r *Run) saveSFTState(ctx context.Context) error {
	if c, ok := r.tr.(*tinker.Client); ok {
		return c.SaveState(ctx, sftStateName)
	}
	_, err := rl.SaveCheckpoint(r.Path("sft-state"), r.tr.(*model.Trainer), rl.State{Phase: phaseSFT, Step: r.Cfg.SFT.Steps}, 2)
	return err
}

// loadSFTState goes back to what saveSFTState kept.
func (r *Run) loadSFTState(ctx context.Context) error {
	if c, ok := r.tr.(*tinker.Client); ok {
		return c.LoadState(ctx, sftStateName)
	}
	tr, _, err := rl.LoadCheckpoint(r.Path("sft-state"))
	if err != nil {
		return err
	}
	tr.Model.SetMatmuls(r.k)
	r.tr, r.pol = tr, tr.Model
	return nil
}

// savePolicyDir writes m and tok as a policy directory, swapped in whole.
func savePolicyDir(dir string, m *model.Model, tok *tokenizer.BPE) error {
	return atomicfile.ReplaceDir(dir, func(tmp string) error {
		if err := m.Save(tmp); err != nil {
			return err
		}
		return tok.Save(filepath.Join(tmp, "tokenizer.json"))
	})
}
