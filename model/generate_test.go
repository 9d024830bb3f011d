package model

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGenerate(t *testing.T) {
	c := tinyConfig()
	c.SeqLen = 64
	m, err := NewRandom(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params { // sharper distributions than the 0.02 init
		m.Params[i] *= 20
	}
	ctx := context.Background()
	prompts := [][]int{{1, 4, 5}, {1, 7}, {1, 9, 9, 9, 3}}
	sampled := GenerateOptions{MaxTokens: 12, N: 3, Temperature: 0.9, TopK: 10, TopP: 0.95, Seed: 42}

	t.Run("batch equals one by one", func(t *testing.T) {
		for _, opt := range []GenerateOptions{{MaxTokens: 12}, sampled} {
			all, err := m.Generate(ctx, prompts, opt)
			if err != nil {
				t.Fatal(err)
			}
			for p := range prompts {
				for i := range max(opt.N, 1) {
					one := opt
					one.N = 1
					// sequence ids seed the streams; re-create id p*N+i alone.
					seq := all[p*max(opt.N, 1)+i]
					if seq.Prompt != p {
						t.Fatalf("sequence order: got prompt %d, want %d", seq.Prompt, p)
					}
					if opt.Temperature == 0 {
						alone, err := m.Generate(ctx, [][]int{prompts[p]}, one)
						if err != nil {
							t.Fatal(err)
						}
						if diff := cmp.Diff(alone[0].Tokens, seq.Tokens); diff != "" {
							t.Errorf("prompt %d: batched greedy differs (-alone +batched):\n%s", p, diff)
						}
					}
				}
			}
			again, _ := m.Generate(ctx, prompts, opt)
			if diff := cmp.Diff(all, again); diff != "" {
				t.Errorf("same seed, different output:\n%s", diff)
			}
		}
	})
	t.Run("logprobs equal Score", func(t *testing.T) {
		streamed := map[int][]int{}
		opt := sampled
		opt.OnToken = func(seq, tok int, _ float32) { streamed[seq] = append(streamed[seq], tok) }
		seqs, err := m.Generate(ctx, prompts, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range seqs {
			if diff := cmp.Diff(s.Tokens, streamed[i]); diff != "" {
				t.Errorf("sequence %d: streamed tokens differ:\n%s", i, diff)
			}
		}
		for _, s := range seqs {
			lp, err := m.Score(ctx, prompts[s.Prompt], s.Tokens)
			if err != nil {
				t.Fatal(err)
			}
			for i := range lp {
				if math.Abs(float64(lp[i]-s.Logprobs[i])) > 1e-4 {
					t.Fatalf("token %d: Score %g, Generate %g", i, lp[i], s.Logprobs[i])
				}
			}
		}
	})
	t.Run("stops", func(t *testing.T) {
		greedy, _ := m.Generate(ctx, prompts[:1], GenerateOptions{MaxTokens: 12})
		stopTok := greedy[0].Tokens[3]
		seqs, err := m.Generate(ctx, prompts[:1], GenerateOptions{MaxTokens: 12, StopTokens: []int{stopTok}})
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs[0]; got.FinishReason != FinishStop || got.Tokens[len(got.Tokens)-1] != stopTok {
			t.Errorf("stop token: got %+v", got)
		}
		decode := func(ids []int) string { return fmt.Sprint(ids) }
		stop := fmt.Sprint(greedy[0].Tokens[4])
		seqs, err = m.Generate(ctx, prompts[:1], GenerateOptions{MaxTokens: 12, StopStrings: []string{stop}, Decode: decode})
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs[0]; got.FinishReason != FinishStop || got.Stop != stop {
			t.Errorf("stop string %q: got %+v", stop, got)
		}
		if greedy[0].FinishReason != FinishLength || len(greedy[0].Tokens) != 12 {
			t.Errorf("length: got %+v", greedy[0])
		}
	})
	t.Run("context length", func(t *testing.T) {
		long := make([]int, c.SeqLen-4)
		for i := range long {
			long[i] = 3 + i%5
		}
		seqs, err := m.Generate(ctx, [][]int{long}, GenerateOptions{MaxTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		// Positions SeqLen-4 … SeqLen-1 are fed; the token after the last is
		// still sampled.
		if got := seqs[0]; len(got.Tokens) != 5 || got.FinishReason != FinishLength {
			t.Errorf("at the context limit: %d tokens, %s; want 5, length", len(got.Tokens), got.FinishReason)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := m.Generate(cctx, prompts, sampled); err == nil {
			t.Error("cancelled context: no error")
		}
	})
	t.Run("clone is independent", func(t *testing.T) {
		c := m.Clone()
		c.Params[0] += 1
		if m.Params[0] == c.Params[0] || &c.W.Embed[0] != &c.Params[0] {
			t.Error("clone shares parameters or its views point elsewhere")
		}
	})
	t.Run("errors", func(t *testing.T) {
		for name, tc := range map[string]struct {
			prompts [][]int
			opt     GenerateOptions
		}{
			"no max tokens":  {prompts, GenerateOptions{}},
			"bad token":      {[][]int{{1, 99}}, GenerateOptions{MaxTokens: 1}},
			"empty prompt":   {[][]int{{}}, GenerateOptions{MaxTokens: 1}},
			"stop no decode": {prompts, GenerateOptions{MaxTokens: 1, StopStrings: []string{"x"}}},
		} {
			if _, err := m.Generate(ctx, tc.prompts, tc.opt); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

// TestTrainMatchesInference: the training forward's per-token logprobs
// equal the inference path's Score.
func TestTrainMatchesInference(t *testing.T) {
	c := tinyConfig()
	c.Arch, c.QKVBias = "qwen2", true
	m, err := NewRandom(c, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params {
		m.Params[i] *= 10
	}
	tokens := []int{1, 3, 5, 7, 11, 13, 17, 2}
	targets := append(tokens[1:len(tokens):len(tokens)], -1)
	tr, err := NewTrainer(m, DefaultTrainConfig(1, len(tokens)), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Loss(tokens, targets, nil); err != nil {
		t.Fatal(err)
	}
	lp, err := m.Score(context.Background(), tokens[:1], tokens[1:])
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(lp, tr.TokenLogprobs()[:len(lp)]); d > 1e-4 {
		t.Errorf("training and inference logprobs differ by %g", d)
	}
}
