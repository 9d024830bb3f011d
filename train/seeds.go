package train

import (
	"context"
	"os"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

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

// HeldOutSeed is the seed of the test world of a run with seed s: never a
// training world nor a per-step one.
func HeldOutSeed(s int64) int64 { return s + offsetTest }

// ValidationSeed is the seed of the validation world of a run with seed s.
func ValidationSeed(s int64) int64 { return s + offsetValidation }

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
func (r *Run) worldFamily(base int64) ([]*world.World, []world.Question, []corpus.Passage, error) {
	var (
		ws       []*world.World
		qs       []world.Question
		passages []corpus.Passage
	)
	for i := range r.Cfg.World.Count {
		w, err := world.Generate(world.Config{Seed: base + int64(i), Entities: r.Cfg.World.Entities, Questions: r.Cfg.World.Questions})
		if err != nil {
			return nil, nil, nil, err
		}
		ws = append(ws, w)
		qs = append(qs, w.Split(world.Train)...)
		passages = append(passages, w.Passages...)
	}
	return ws, qs, passages, nil
}
