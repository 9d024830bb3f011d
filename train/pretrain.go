package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/world"
)

// pretrainStep is language modelling on passages, three to a sequence, of
// a world generated for this step alone: with names never seen twice the
// model cannot learn facts, only the language of the passages and,
// eventually, to copy the names that recur in its context.
func (r *Run) pretrainStep(ctx context.Context, step int) error {
	rng := r.stepRNG(phasePretrain, step)
	late := step >= r.Cfg.Pretrain.TraceFrom
	traces := late && r.Cfg.Pretrain.TraceRows > 0
	w, err := stepWorld(r.Cfg.Seed+offsetPretrain+int64(step), traces || (late && r.Cfg.Pretrain.ReadChains > 0))
	if err != nil {
		return err
	}
	ps := w.Passages
	batch := make([][]int, r.Cfg.Pretrain.Batch)
	n := 0
	if traces {
		rows, err := r.traceRows(ctx, w, rng)
		if err != nil {
			return fmt.Errorf("pre-training step %d: %w", step, err)
		}
		copy(batch, rows)
	}
	if late && r.Cfg.Pretrain.ReadRows > 0 {
		copy(batch[len(batch)-r.Cfg.Pretrain.ReadRows:], r.readRows(w, rng))
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
		if (traces && i < r.Cfg.Pretrain.TraceRows+r.Cfg.Pretrain.CopyRows) || (!traces && i < r.Cfg.Pretrain.CopyRows) {
			d = copyDrill(d, 96, rng)
		}
		batch[i] = d[:min(len(d), r.Cfg.Model.SeqLen+1)]
		n += len(batch[i]) - 1
	}
	t0 := time.Now()
	loss, err := rl.LMStep(r.tr, batch)
	if err != nil {
		return err
	}
	m := metricLine{Phase: phasePretrain, Step: step, Loss: loss, Tokens: n, TokensPS: float64(n) / time.Since(t0).Seconds()}
	if err := r.probeAt(&m, step, r.Cfg.Pretrain.Steps); err != nil {
		return err
	}
	return r.log(m)
}

// probeAt adds the reading probe to m every 25th step and at the last.
func (r *Run) probeAt(m *metricLine, step, steps int) error {
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
func (r *Run) traceRows(ctx context.Context, w *world.World, rng *rand.Rand) ([][]int, error) {
	qs := chainQuestions(w.Questions, 1, r.Cfg.Pretrain.MaxHops)
	if len(qs) == 0 {
		return nil, fmt.Errorf("pre-training world has no chain questions of at most %d hops", r.Cfg.Pretrain.MaxHops)
	}
	rng.Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	ix, err := stepIndex(ctx, r.Path("pretrain-index"), w)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	p := r.preset
	p.Prompt = r.proto.QuestionLine("{question}")
	or, closeTools, err := r.teacherRunner(p, qs, ix, w)
	if err != nil {
		return nil, err
	}
	defer closeTools()
	want, limit := min(r.Cfg.Pretrain.TraceTokens, r.Cfg.Model.SeqLen), r.Cfg.Model.SeqLen+1
	rows := make([][]int, 0, r.Cfg.Pretrain.TraceRows)
	var row []int
	for next, used := 0, 0; ; {
		if next >= len(qs) && used == 0 {
			return nil, fmt.Errorf("every oracle trace is longer than seq_len %d", r.Cfg.Model.SeqLen)
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
func (r *Run) readRows(w *world.World, rng *rand.Rand) [][]int {
	rows, _ := r.readDrills(w, rng, r.Cfg.Pretrain.ReadRows, true, r.Cfg.Pretrain.ReadChains)
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
func (r *Run) readDrills(w *world.World, rng *rand.Rand, n int, info bool, chains float64) (rows [][]int, masks [][]float32) {
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
		cqs = chainQuestions(w.Questions, 2, r.Cfg.Pretrain.MaxHops)
	}
	want := min(r.Cfg.Pretrain.TraceTokens, r.Cfg.Model.SeqLen)
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
			for d, p := range ps {
				fmt.Fprintf(&b, "Doc %d(Title: %s) %s\n", d+1, p.Title, p.Text)
				fs = append(fs, facts[p.ID]...)
			}
			block := r.proto.Information(b.String()) + "\n"
			if info {
				add(i, block, 0)
			}
			if chain != nil {
				add(i, r.proto.QuestionLine(chain.Question), 0)
				for done := range len(chain.Chain) + 1 {
					add(i, r.proto.Step(*chain, done, block)+"\n", 0)
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
				// The oracle's words (rl.Protocol.Step), so reading learnt
				// here is reading in the agent's protocol.
				add(i, r.proto.QuestionLine(q)+r.proto.ThinkOpen()+"The "+rl.RelationWords(f.Relation)+" of "+subj+" is", 0)
				add(i, " "+ans, 1)
				add(i, ". So the answer is "+ans+"."+r.proto.ThinkClose()+"\n"+r.proto.Answer(ans)+"\n", 0)
			}
			add(i, "\n", 0)
		}
		k := min(len(rows[i]), r.Cfg.Model.SeqLen+1)
		rows[i], masks[i] = rows[i][:k], masks[i][:k]
	}
	return rows, masks
}

// probeReading measures whether the policy reads: the mean loss on the
// answers of reading drills of a world no phase trains on, with the
// passages shown (open) and without them (closed). Only reading can make
// open lower than closed.
func (r *Run) probeReading() (open, closed float64, err error) {
	if r.probe == nil {
		w, err := stepWorld(r.Cfg.Seed+offsetProbe, false)
		if err != nil {
			return 0, 0, err
		}
		r.probe = w
	}
	for k, info := range []bool{true, false} {
		rows, masks := r.readDrills(r.probe, rand.New(rand.NewPCG(uint64(r.Cfg.Seed), 3)), 4, info, 0)
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
