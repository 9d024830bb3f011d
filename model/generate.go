package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/model/kernels"
)

// FinishReason says why a sequence stopped.
type FinishReason string

const (
	FinishStop   FinishReason = "stop"   // a stop token or stop string
	FinishLength FinishReason = "length" // MaxTokens or the context length
)

// GenerateOptions controls Generate. The zero value of every field except
// MaxTokens is meaningful and documented.
type GenerateOptions struct {
	MaxTokens int // tokens to generate per sequence; must be positive
	// N is the number of samples per prompt (an RL group): the prompt is
	// prefilled once and its KV cache copied. 0 means 1.
	N int
	// Temperature 0 is greedy decoding (argmax, lowest id on ties);
	// a positive value samples from softmax(logits/Temperature).
	Temperature float64
	TopK        int     // sample among the K most likely tokens; 0 keeps all
	TopP        float64 // nucleus sampling mass in (0,1); 0 or ≥1 keeps all
	// Seed seeds sequence i's own PCG stream (Seed, i), so a sequence's
	// samples do not depend on the others in the batch.
	Seed uint64
	// Seeds, when set (one per prompt), seeds prompt p's sample i with the
	// stream (Seeds[p], i) instead, so a request's samples do not depend on
	// which other requests share its batch.
	Seeds       []uint64
	StopTokens  []int    // finish after generating one of these (kept in Tokens)
	StopStrings []string // finish once Decode(Tokens) contains one
	// Decode turns ids into text for StopStrings; required when they are set.
	Decode func(ids []int) string
	// MaxRows caps the rows run through the model at once (prefill chunk);
	// 0 means 256.
	MaxRows int
	// OnToken, when set, is called on Generate's goroutine after every
	// generated token (seq indexes the result slice), for streaming.
	OnToken func(seq, token int, logprob float32)
}

// Sequence is one generated completion.
type Sequence struct {
	Prompt int   // index of its prompt in the prompts argument
	Tokens []int // generated ids, without the prompt
	// Logprobs[i] is log p(Tokens[i]) under the model's own distribution
	// (temperature 1, no top-k/top-p), the quantity RL needs and Score
	// returns.
	Logprobs     []float32
	FinishReason FinishReason
	Stop         string // the stop string that ended it, if any
}

// Generate continues every prompt opt.N times and returns the sequences
// prompt-major: seqs[p*N+i] is prompt p's i-th sample. It runs all live
// sequences as one batch per step. The prompts are not modified.
func (m *Model) Generate(ctx context.Context, prompts [][]int, opt GenerateOptions) ([]Sequence, error) {
	n := max(opt.N, 1)
	if opt.MaxTokens <= 0 {
		return nil, fmt.Errorf("generate: MaxTokens must be positive, got %d", opt.MaxTokens)
	}
	if len(opt.StopStrings) > 0 && opt.Decode == nil {
		return nil, fmt.Errorf("generate: StopStrings need a Decode function")
	}
	if opt.Seeds != nil && len(opt.Seeds) != len(prompts) {
		return nil, fmt.Errorf("generate: %d seeds for %d prompts", len(opt.Seeds), len(prompts))
	}
	maxPrompt := 0
	for i, p := range prompts {
		if err := m.checkTokens(p, len(p)); err != nil {
			return nil, fmt.Errorf("generate: prompt %d: %w", i, err)
		}
		maxPrompt = max(maxPrompt, len(p))
	}
	maxRows := opt.MaxRows
	if maxRows <= 0 {
		maxRows = 256
	}
	ctxLen := min(m.Config.SeqLen, maxPrompt+opt.MaxTokens)
	s := m.newRunState(max(maxRows, len(prompts)*n), max(len(prompts)*n, 1), ctxLen)
	seqs := make([]genSeq, 0, len(prompts)*n)
	for p, prompt := range prompts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		capacity := min(m.Config.SeqLen, len(prompt)+opt.MaxTokens)
		first := m.NewKVCache(capacity)
		var logits []float32
		m.prefill(s, first, prompt, len(prompt)-1, maxRows, func(_ int, l []float32) {
			logits = append(logits[:0], l...)
		})
		for i := range n {
			cache := first
			if i > 0 {
				cache = m.NewKVCache(capacity)
				cache.CopyFrom(first, m.Config.Layers, m.Config.KVHeads, m.Config.HeadSize())
			}
			id := len(seqs)
			src := rand.NewPCG(opt.Seed, uint64(id))
			if opt.Seeds != nil {
				src = rand.NewPCG(opt.Seeds[p], uint64(i))
			}
			g := genSeq{Sequence: Sequence{Prompt: p}, cache: cache, pos: len(prompt), rng: rand.New(src)}
			tok := m.sample(logits, &opt, g.rng, s)
			g.accept(tok, logprobAt(logits, tok, s.probs), &opt, m.Config.SeqLen)
			if opt.OnToken != nil {
				opt.OnToken(id, tok, g.Logprobs[0])
			}
			seqs = append(seqs, g)
		}
	}
	if err := m.decodeShards(ctx, s, seqs, &opt, ctxLen); err != nil {
		return nil, err
	}
	out := make([]Sequence, len(seqs))
	for i := range seqs {
		out[i] = seqs[i].Sequence
	}
	return out, nil
}

// genSeq is a sequence being generated.
type genSeq struct {
	Sequence
	cache *KVCache
	pos   int // position of the next token to feed
	rng   *rand.Rand
	done  bool
}

// accept appends tok and decides whether the sequence is finished.
func (g *genSeq) accept(tok int, logprob float32, opt *GenerateOptions, seqLen int) {
	g.Tokens = append(g.Tokens, tok)
	g.Logprobs = append(g.Logprobs, logprob)
	switch {
	case slices.Contains(opt.StopTokens, tok):
		g.done, g.FinishReason = true, FinishStop
	case g.stopString(opt):
		g.done, g.FinishReason = true, FinishStop
	case len(g.Tokens) >= opt.MaxTokens || g.pos >= seqLen:
		g.done, g.FinishReason = true, FinishLength
	}
}

// stopString checks the decoded tail for a stop string. Decoding only the
// last tokens keeps this O(1) per step; every token decodes to ≥0 bytes, so
// a window of len(stop)+8 tokens covers a match ending at the new token
// unless many tokens decode to nothing.
func (g *genSeq) stopString(opt *GenerateOptions) bool {
	if len(opt.StopStrings) == 0 {
		return false
	}
	longest := 0
	for _, s := range opt.StopStrings {
		longest = max(longest, len(s))
	}
	tail := g.Tokens[max(0, len(g.Tokens)-longest-8):]
	text := opt.Decode(tail)
	for _, s := range opt.StopStrings {
		if s != "" && strings.Contains(text, s) {
			g.Stop = s
			return true
		}
	}
	return false
}

// decodeShards runs the decode loop. A small model's batched step is
// bound by per-call overhead rather than arithmetic, and its matrix
// products are too small for the kernels to split across cores, so the
// sequences are split into one shard per core, each decoded on its own
// goroutine with its own scratch state. Every sequence samples from its own
// stream, so results do not depend on the sharding. Streaming callers
// (OnToken) keep one shard, on the calling goroutine as documented.
func (m *Model) decodeShards(ctx context.Context, s *runState, seqs []genSeq, opt *GenerateOptions, ctxLen int) error {
	workers := min(runtime.GOMAXPROCS(0), len(seqs)/2)
	if workers < 2 || opt.OnToken != nil || m.Config.Dim > 256 {
		return m.decodeLoop(ctx, s, seqs, opt)
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	per := (len(seqs) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(seqs))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w > 0 {
				st = m.newRunState(hi-lo, hi-lo, ctxLen)
			}
			errs[w] = m.decodeLoop(ctx, st, seqs[lo:hi], opt)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// decodeLoop feeds every live sequence's last token as one batch per step.
func (m *Model) decodeLoop(ctx context.Context, s *runState, seqs []genSeq, opt *GenerateOptions) error {
	rows := make([]row, 0, len(seqs))
	live := make([]int, 0, len(seqs))
	for {
		rows, live = rows[:0], live[:0]
		for i := range seqs {
			if g := &seqs[i]; !g.done {
				rows = append(rows, row{tok: g.Tokens[len(g.Tokens)-1], pos: g.pos, cache: g.cache, logits: true})
				live = append(live, i)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		m.forward(s, rows)
		V := m.Config.Vocab
		for j, i := range live {
			g := &seqs[i]
			g.pos++
			logits := s.logits[j*V : (j+1)*V]
			tok := m.sample(logits, opt, g.rng, s)
			g.accept(tok, logprobAt(logits, tok, s.probs), opt, m.Config.SeqLen)
			if opt.OnToken != nil {
				opt.OnToken(i, tok, g.Logprobs[len(g.Logprobs)-1])
			}
		}
	}
}

// prefill runs tokens into cache after its filled positions, in chunks of
// at most maxRows, calling onLogits(i, logits) for each token i ≥ wantFrom.
func (m *Model) prefill(s *runState, cache *KVCache, tokens []int, wantFrom, maxRows int, onLogits func(i int, logits []float32)) {
	V := m.Config.Vocab
	rows := make([]row, 0, min(maxRows, len(tokens)))
	for lo := 0; lo < len(tokens); lo += maxRows {
		hi := min(lo+maxRows, len(tokens))
		rows = rows[:0]
		for i := lo; i < hi; i++ {
			rows = append(rows, row{tok: tokens[i], pos: cache.Len + i - lo, cache: cache, logits: i >= wantFrom})
		}
		m.forward(s, rows)
		for j, r := range s.logitRows {
			onLogits(lo+r, s.logits[j*V:(j+1)*V])
		}
	}
}

// sample picks the next token from logits per opt, using rng.
func (m *Model) sample(logits []float32, opt *GenerateOptions, rng *rand.Rand, s *runState) int {
	if opt.Temperature <= 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	p := s.probs[:len(logits)]
	copy(p, logits)
	kernels.Scale(p, float32(1/opt.Temperature))
	kernels.SoftmaxInPlace(p)
	filter := opt.TopK > 0 || (opt.TopP > 0 && opt.TopP < 1)
	if !filter {
		r := float32(rng.Float64())
		for i, pi := range p {
			if r -= pi; r < 0 {
				return i
			}
		}
		return len(p) - 1
	}
	cand := s.cand[:0]
	for i := range p {
		cand = append(cand, int32(i))
	}
	slices.SortFunc(cand, func(a, b int32) int { // most likely first, lower id on ties
		if p[a] != p[b] {
			if p[a] > p[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	s.cand = cand
	if opt.TopK > 0 && opt.TopK < len(cand) {
		cand = cand[:opt.TopK]
	}
	total := 0.0
	for j, i := range cand {
		total += float64(p[i])
		if opt.TopP > 0 && opt.TopP < 1 && total >= opt.TopP {
			cand = cand[:j+1]
			break
		}
	}
	r := rng.Float64() * total
	for _, i := range cand {
		if r -= float64(p[i]); r < 0 {
			return int(i)
		}
	}
	return int(cand[len(cand)-1])
}

// logprobAt returns log softmax(logits)[i] using scratch (len V) for the
// SIMD softmax: logit − max − log Σ exp, where 1/Σ is the largest
// probability, so a tiny p(i) loses no precision.
func logprobAt(logits []float32, i int, scratch []float32) float32 {
	p := scratch[:len(logits)]
	copy(p, logits)
	kernels.SoftmaxInPlace(p)
	return logits[i] - kernels.Max(logits) + float32(math.Log(float64(kernels.Max(p))))
}

// Score returns log p(completion[i] | prompt, completion[:i]) for each i:
// the logprobs of given tokens, as Generate reports for sampled ones.
func (m *Model) Score(ctx context.Context, prompt, completion []int) ([]float32, error) {
	all := append(slices.Clip(prompt), completion...)
	if err := m.checkTokens(all, len(all)-1); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("score: empty prompt")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	const maxRows = 128
	feed := all[:len(all)-1]
	cache := m.NewKVCache(max(len(feed), 1))
	s := m.newRunState(maxRows, maxRows, len(feed))
	out := make([]float32, len(completion))
	m.prefill(s, cache, feed, len(prompt)-1, maxRows, func(i int, l []float32) {
		out[i-(len(prompt)-1)] = logprobAt(l, completion[i-(len(prompt)-1)], s.probs)
	})
	return out, nil
}
