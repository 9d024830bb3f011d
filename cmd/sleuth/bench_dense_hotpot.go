package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/dense"
)

// committedRandomBERT is the random 2-layer BERT that search/dense/bert's
// parity test uses, relative to the repository root: the dense side of
// `bench dense --set hotpotqa` when no --embed is given. Its vocabulary is
// 29 words, so it embeds almost every text as [UNK]s: it checks the
// plumbing, and cannot help recall.
const committedRandomBERT = "search/dense/bert/testdata/tiny"

// hotpotReport is recall of both supporting paragraphs over the shared
// HotpotQA questions, per retriever.
type hotpotReport struct {
	Questions int            `json:"questions"`
	Passages  int            `json:"passages"`
	K         int            `json:"k"`
	Embed     string         `json:"embed"`
	Plumbing  bool           `json:"plumbing_only"`
	Rows      []hotpotRecall `json:"rows"`
}

type hotpotRecall struct {
	Retriever string  `json:"retriever"`
	Both      float64 `json:"recall_both_at_k"`
	AtLeast1  float64 `json:"recall_at_least_one_at_k"`
}

// benchDenseHotpot indexes the union of the shared HotpotQA paragraphs
// with BM25 and with the dense index (embedded by f's --embed, or the
// committed random BERT), and reports for BM25, dense, and their RRF and
// weighted fusions the share of questions whose two supporting paragraphs
// are both in the top k. Without the shared data it says so and returns
// ok = false.
func benchDenseHotpot(ctx context.Context, cmd *cobra.Command, f *denseFlags, dir string, k int) (rep hotpotReport, ok bool, err error) {
	path, err := sharedFile("hotpotqa/dev_distractor_400.jsonl")
	if err == nil {
		if _, err = os.Stat(path); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	if err != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "bench dense --set hotpotqa: skipped: %v\n", err)
		return rep, false, nil
	}
	rep.K, rep.Embed = k, f.embed
	if f.embed == "" {
		if _, err := os.Stat(filepath.Join(committedRandomBERT, "config.json")); err != nil {
			return rep, false, fmt.Errorf("bench dense --set hotpotqa: no --embed given and the committed random BERT is not at %s (run from the repository root): %w", committedRandomBERT, err)
		}
		f.embed = "local:" + committedRandomBERT
		rep.Embed, rep.Plumbing = f.embed, true
	}
	qs, err := eval.LoadQuestions(path)
	if err != nil {
		return rep, false, err
	}
	var ps []corpus.Passage
	if _, _, err := corpus.ReadAll(ctx, []string{path}, corpus.Options{}, func(p corpus.Passage) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		return rep, false, err
	}
	rep.Questions, rep.Passages = len(qs), len(ps)

	bdir, ddir := filepath.Join(dir, "bm25"), filepath.Join(dir, "dense")
	if _, err := bm25.Build(ctx, bdir, corpus.Seq(ps), bm25.BuildOptions{}); err != nil {
		return rep, false, err
	}
	bix, err := bm25.Open(bdir)
	if err != nil {
		return rep, false, err
	}
	defer bix.Close()
	emb, err := f.embedder()
	if err != nil {
		return rep, false, err
	}
	fmt.Fprintf(stderr(cmd), "bench dense: embedding %d paragraphs with %s…\n", len(ps), f.embed)
	probe, err := emb.Embed(ctx, []string{"passage: dimension probe"})
	if err != nil {
		return rep, false, err
	}
	if len(probe) != 1 {
		return rep, false, errors.New("bench dense: the embedder returned no vector for a probe")
	}
	items := dense.EmbedPassages(ctx, emb, corpus.Seq(ps), "passage: ", 256)
	if _, err := dense.Build(ctx, ddir, len(probe[0]), items, dense.BuildOptions{Normalize: true}); err != nil {
		return rep, false, err
	}
	dix, err := dense.Open(ddir)
	if err != nil {
		return rep, false, err
	}
	defer dix.Close()
	dr := &dense.Retriever{Index: dix, Embedder: emb, QueryPrefix: "query: "}
	rrf, err := search.NewHybrid(bix, dr, search.HybridConfig{Fusion: search.RRF})
	if err != nil {
		return rep, false, err
	}
	weighted, err := search.NewHybrid(bix, dr, search.HybridConfig{Fusion: search.Weighted})
	if err != nil {
		return rep, false, err
	}
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	for _, r := range []struct {
		name string
		r    search.Retriever
	}{{"bm25", bix}, {"dense", dr}, {"hybrid rrf (k=60)", rrf}, {"hybrid weighted (0.5/0.5)", weighted}} {
		hits, err := r.r.Search(ctx, texts, k)
		if err != nil {
			return rep, false, fmt.Errorf("bench dense: %s: %w", r.name, err)
		}
		both, one := supportingRecall(qs, hits)
		rep.Rows = append(rep.Rows, hotpotRecall{Retriever: r.name, Both: both, AtLeast1: one})
	}
	return rep, true, nil
}

// supportingRecall is the share of questions with every supporting
// paragraph among their hits, and with at least one.
func supportingRecall(qs []eval.Question, hits [][]search.Hit) (both, one float64) {
	nb, n1 := 0, 0
	for i, q := range qs {
		in := map[string]bool{}
		for _, h := range hits[i] {
			in[h.Passage.ID] = true
		}
		found := 0
		for _, g := range q.Supporting {
			if in[g] {
				found++
			}
		}
		if len(q.Supporting) > 0 && found == len(q.Supporting) {
			nb++
		}
		if found > 0 {
			n1++
		}
	}
	return float64(nb) / float64(len(qs)), float64(n1) / float64(len(qs))
}

func printHotpotReport(cmd *cobra.Command, r hotpotReport) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "set               hotpotqa: %d questions over the union of their %d paragraphs, top-%d, dense side %s\n", r.Questions, r.Passages, r.K, r.Embed)
	if r.Plumbing {
		fmt.Fprintln(w, "                  (the committed random BERT: plumbing only, a random encoder cannot help recall)")
	}
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%-26s both supporting in top %d: %5.1f%%   at least one: %5.1f%%\n", row.Retriever, r.K, 100*row.Both, 100*row.AtLeast1)
	}
}
