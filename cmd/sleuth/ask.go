package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
)

type llmFlags struct {
	spec, tokenizer, model, chatTemplate string
	tokenIDs                             bool
}

func (f *llmFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.spec, "llm", "", "policy model: local:PATH (in-process engine) or an OpenAI-compatible base URL such as http://127.0.0.1:8001/v1")
	fl.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer for a local model (default: tokenizer.json beside it)")
	fl.StringVar(&f.model, "model", "", "model name to send to an OpenAI-compatible server")
	fl.StringVar(&f.chatTemplate, "chat-template", "", "chat template for a local model: qwen2, chatml, llama3")
	fl.BoolVar(&f.tokenIDs, "token-ids", false, "ask the server for token ids (vLLM/SGLang/sleuth return_token_ids)")
}

// open builds the llm.Client the flags name.
func (f *llmFlags) open() (llm.Client, error) {
	switch {
	case f.spec == "":
		return nil, errors.New("--llm is required: local:PATH or an OpenAI-compatible URL")
	case strings.HasPrefix(f.spec, "local:"):
		return loadLocal(strings.TrimPrefix(f.spec, "local:"), f.tokenizer, f.chatTemplate)
	case strings.HasPrefix(f.spec, "http://") || strings.HasPrefix(f.spec, "https://"):
		return llm.NewHTTP(llm.HTTPConfig{BaseURL: f.spec, Model: f.model, TokenIDs: f.tokenIDs})
	}
	return nil, fmt.Errorf("--llm %q: want local:PATH or an http(s) URL", f.spec)
}

func newAskCmd() *cobra.Command {
	var (
		lf                 llmFlags
		preset, index      string
		jsonOut, showTrace bool
		traceOut           string
		seed               int64
	)
	cmd := &cobra.Command{
		Use:   "ask QUESTION",
		Short: "Ask a research agent one question and show its answer, evidence and reasoning",
		Example: `  sleuth ask "Where was the founder of Varnel Labs born?" --preset searchr1 --index /tmp/idx --llm local:policy/
  sleuth ask "…" --preset rag --index /tmp/idx --llm http://127.0.0.1:8001/v1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := agent.LoadPreset(preset)
			if err != nil {
				return err
			}
			pol, err := lf.open()
			if err != nil {
				return err
			}
			r := &agent.Runner{Preset: p, Policy: pol, Tools: map[string]agent.Tool{}}
			if cmd.Flags().Changed("seed") {
				r.Seed = &seed
			}
			if p.Mode != "direct" {
				if index == "" {
					return fmt.Errorf("preset %s searches: --index is required", p.Name)
				}
				ix, err := bm25.Open(index)
				if err != nil {
					return err
				}
				defer ix.Close()
				r.Tools["search"] = agent.SearchTool{R: ix}
			}
			ep := r.Run(cmd.Context(), agent.Question{ID: "ask", Text: args[0]}, 0)
			if traceOut != "" {
				if err := appendJSONL(traceOut, ep); err != nil {
					return err
				}
			}
			titles := evidenceTitles(ep, r.Tools["search"])
			if jsonOut {
				err = writeJSON(cmd.OutOrStdout(), askResult{Answer: ep.Answer, Status: ep.Status, Reason: ep.Reason, Evidence: titles, Queries: ep.Queries, Turns: len(ep.Turns), Episode: traceIf(showTrace, ep)})
			} else {
				printAsk(cmd.OutOrStdout(), ep, titles, showTrace)
			}
			if err == nil && ep.Status != agent.Answered {
				return fmt.Errorf("no answer: %s: %s", ep.Status, ep.Reason)
			}
			return err
		},
	}
	lf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&preset, "preset", "searchr1", "preset name ("+strings.Join(agent.Presets(), ", ")+") or a preset YAML file")
	fl.StringVar(&index, "index", "", "BM25 index directory to search")
	fl.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	fl.BoolVar(&showTrace, "trace", false, "show every turn: the policy's reasoning, its searches and what came back")
	fl.StringVar(&traceOut, "trace-out", "", "append the full episode as one JSON line to this file")
	fl.Int64Var(&seed, "seed", 0, "sampling seed")
	return cmd
}

type evidence struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

type askResult struct {
	Answer   string         `json:"answer"`
	Status   agent.Status   `json:"status"`
	Reason   string         `json:"reason,omitempty"`
	Evidence []evidence     `json:"evidence"`
	Queries  []string       `json:"queries"`
	Turns    int            `json:"turns"`
	Episode  *agent.Episode `json:"episode,omitempty"`
}

func traceIf(on bool, ep *agent.Episode) *agent.Episode {
	if on {
		return ep
	}
	return nil
}

// evidenceTitles lists what the answer rests on: the passages it cites, or
// failing that every passage the episode retrieved.
func evidenceTitles(ep *agent.Episode, _ agent.Tool) []evidence {
	title := map[string]string{}
	for _, h := range ep.Retrieved {
		title[h.ID] = h.Title
	}
	ids := ep.Evidence
	if len(ids) == 0 {
		for _, h := range ep.Retrieved {
			ids = append(ids, h.ID)
		}
	}
	out := []evidence{}
	for _, id := range ids {
		out = append(out, evidence{ID: id, Title: title[id]})
	}
	return out
}

func printAsk(w io.Writer, ep *agent.Episode, ev []evidence, trace bool) {
	if trace {
		for _, t := range ep.Turns {
			fmt.Fprintf(w, "── turn %d (%d tokens, %s)\n%s\n", t.Index+1, t.OutTokens, t.FinishReason, strings.TrimSpace(t.Completion))
			if t.Action.Error != "" {
				fmt.Fprintf(w, "   ! format error: %s\n", t.Action.Error)
			}
			for _, c := range t.Calls {
				fmt.Fprintf(w, "   → %s %q: %d passages\n", c.Tool, c.Input, len(c.Hits))
				for _, h := range c.Hits {
					fmt.Fprintf(w, "     [%.2f] %s (%s)\n", h.Score, h.Title, h.ID)
				}
			}
		}
		fmt.Fprintln(w, "──")
	}
	if ep.Status == agent.Answered {
		fmt.Fprintf(w, "answer: %s\n", ep.Answer)
	} else {
		fmt.Fprintf(w, "no answer (%s): %s\n", ep.Status, ep.Reason)
	}
	for _, e := range ev {
		fmt.Fprintf(w, "  evidence: %s (%s)\n", e.Title, e.ID)
	}
	fmt.Fprintf(w, "%d turns, %d searches, %d tokens generated, %s\n", ep.Ledger.Turns, ep.Ledger.Searches, ep.Ledger.CompletionTokens, ep.Ledger.Wall.Round(1e6))
}

func appendJSONL(path string, v any) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("trace %s: %w", path, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		f.Close()
		return fmt.Errorf("trace %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("trace %s: %w", path, err)
	}
	return f.Close()
}

var _ search.Retriever = (*bm25.Index)(nil)
