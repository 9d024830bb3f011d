package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// generateFlags are the flags of `sleuth generate`.
type generateFlags struct {
	model, tokenizer, prompt, promptIDs string
	maxTokens, topK, n                  int
	temperature, topP                   float64
	seed                                uint64
	stops                               []string
	noBOS, json                         bool
}

func newGenerateCmd() *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate text from a model with the in-process engine",
		Long: "generate continues a prompt with a Llama/Qwen2 checkpoint (llama2.c .bin, or a directory with\n" +
			"config.json and model.safetensors) and prints the text, token ids and per-token logprobs.",
		Example: "  sleuth generate --model ../shared/data/models/aidreams260K.bin \\\n" +
			"    --tokenizer ../shared/data/models/aidreams260K_tok512.bin --prompt Echoes --max-tokens 40",
		RunE: func(cmd *cobra.Command, _ []string) error { return runGenerate(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "checkpoint: llama2.c .bin, HF directory or .safetensors file (required)")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer (llama2.c tokenizer.bin or tokenizer.json); needed for --prompt")
	fl.StringVar(&f.prompt, "prompt", "", "prompt text (encoded with --tokenizer, BOS prepended unless --no-bos)")
	fl.StringVar(&f.promptIDs, "prompt-ids", "", "prompt as comma-separated token ids, used as given")
	fl.IntVar(&f.maxTokens, "max-tokens", 64, "tokens to generate per sequence")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature; 0 is greedy decoding")
	fl.IntVar(&f.topK, "top-k", 0, "sample among the k most likely tokens; 0 keeps all")
	fl.Float64Var(&f.topP, "top-p", 1, "nucleus sampling mass; 1 keeps all")
	fl.Uint64Var(&f.seed, "seed", 0, "sampling seed")
	fl.IntVar(&f.n, "n", 1, "samples per prompt")
	fl.StringSliceVar(&f.stops, "stop", nil, "stop strings (need --tokenizer)")
	fl.BoolVar(&f.noBOS, "no-bos", false, "do not prepend BOS to --prompt")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per sequence")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func runGenerate(cmd *cobra.Command, f *generateFlags) error {
	m, err := model.Load(f.model)
	if err != nil {
		return err
	}
	k := kernels.New(0)
	defer k.Close()
	m.SetMatmuls(k)
	var tok tokenizer.Tokenizer
	if f.tokenizer != "" {
		if tok, err = tokenizer.Load(f.tokenizer); err != nil {
			return err
		}
	}
	prompt, err := generatePrompt(f, tok, m.Config)
	if err != nil {
		return err
	}
	opt := model.GenerateOptions{MaxTokens: f.maxTokens, N: f.n, Temperature: f.temperature,
		TopK: f.topK, TopP: f.topP, Seed: f.seed, StopStrings: f.stops}
	if eos := m.Config.EOS; eos >= 0 {
		opt.StopTokens = append(opt.StopTokens, eos)
	}
	if tok != nil {
		if eos := tok.EOS(); eos >= 0 {
			opt.StopTokens = append(opt.StopTokens, eos)
		}
		opt.Decode = tok.Decode
	} else if len(f.stops) > 0 {
		return fmt.Errorf("generate: --stop needs --tokenizer")
	}
	start := time.Now()
	seqs, err := m.Generate(cmd.Context(), [][]int{prompt}, opt)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	total := 0
	for _, s := range seqs {
		total += len(s.Tokens)
		text := ""
		if tok != nil {
			text = completionText(tok, prompt, s.Tokens)
		}
		if f.json {
			err = writeJSON(cmd.OutOrStdout(), map[string]any{"text": text, "prompt_ids": prompt, "ids": s.Tokens,
				"logprobs": s.Logprobs, "finish_reason": s.FinishReason})
		} else {
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\nids: %v\nlogprobs: %s\nfinish: %s\n", text, s.Tokens, formatLogprobs(s.Logprobs), s.FinishReason)
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr(cmd), "generated %d tokens in %v (%.0f tokens/s)\n", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
	return nil
}

// generatePrompt turns --prompt or --prompt-ids into token ids.
func generatePrompt(f *generateFlags, tok tokenizer.Tokenizer, cfg model.Config) ([]int, error) {
	switch {
	case (f.prompt == "") == (f.promptIDs == ""):
		return nil, fmt.Errorf("generate: give exactly one of --prompt and --prompt-ids")
	case f.promptIDs != "":
		var ids []int
		for i, s := range strings.Split(f.promptIDs, ",") {
			id, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("generate: --prompt-ids item %d: %w", i+1, err)
			}
			ids = append(ids, id)
		}
		return ids, nil
	case tok == nil:
		return nil, fmt.Errorf("generate: --prompt needs --tokenizer (or use --prompt-ids)")
	}
	ids := tok.Encode(f.prompt)
	bos := tok.BOS()
	if bos < 0 {
		bos = cfg.BOS
	}
	if !f.noBOS && bos >= 0 {
		ids = append([]int{bos}, ids...)
	}
	return ids, nil
}

// completionText decodes completion in the context of its prompt, so
// context-dependent decoding (llama2.c drops the space after BOS) matches
// decoding the whole sequence.
func completionText(tok tokenizer.Tokenizer, prompt, completion []int) string {
	whole := tok.Decode(append(append([]int(nil), prompt...), completion...))
	if head := tok.Decode(prompt); strings.HasPrefix(whole, head) {
		return whole[len(head):]
	}
	return tok.Decode(completion)
}

func formatLogprobs(lp []float32) string {
	parts := make([]string, len(lp))
	for i, v := range lp {
		parts[i] = strconv.FormatFloat(float64(v), 'f', 4, 32)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
