package densebench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/dense"
)

// HotpotFile is the shared HotpotQA question file Hotpot reads, under the
// shared data directory.
const HotpotFile = "hotpotqa/dev_distractor_400.jsonl"

// CommittedRandomBERT is the random 2-layer BERT that search/dense/bert's
// parity test uses, relative to the repository root: the dense side of
// Hotpot when no embedder is chosen. Its vocabulary is 29 words, so it
// embeds almost every text as [UNK]s: it checks the plumbing, and cannot
// help recall.
const CommittedRandomBERT = "search/dense/bert/testdata/tiny"

// HotpotReport is recall of both supporting paragraphs over the shared
// HotpotQA questions, per retriever.
type HotpotReport struct {
	Questions int            `json:"questions"`
	Passages  int            `json:"passages"`
	K         int            `json:"k"`
	Embed     string         `json:"embed"`
	Plumbing  bool           `json:"plumbing_only"`
	Rows      []HotpotRecall `json:"rows"`
}

// HotpotRecall is one retriever's row.
type HotpotRecall struct {
	Retriever string  `json:"retriever"`
	Both      float64 `json:"recall_both_at_k"`
	AtLeast1  float64 `json:"recall_at_least_one_at_k"`
}

// HotpotOptions say how Hotpot retrieves.
type HotpotOptions struct {
	// Dir receives the two indexes (bm25/ and dense/).
	Dir string
	K   int
	// Embedder is the dense side; Embed names it in the report, and
	// Plumbing says it is the committed random BERT.
	Embedder dense.Embedder
	Embed    string
	Plumbing bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Hotpot indexes the union of the paragraphs of the question file at path
// with BM25 and with the dense index, and reports for BM25, dense, and
// their RRF and weighted fusions the share of questions whose two
// supporting paragraphs are both in the top k.
func Hotpot(ctx context.Context, path string, o HotpotOptions) (HotpotReport, error) {
	rep := HotpotReport{K: o.K, Embed: o.Embed, Plumbing: o.Plumbing}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	qs, err := eval.LoadQuestions(path)
	if err != nil {
		return rep, err
	}
	var ps []corpus.Passage
	if _, _, err := corpus.ReadAll(ctx, []string{path}, corpus.Options{}, func(p corpus.Passage) error {
		ps = append(ps, p)
		return nil
	}); err != nil {
		return rep, err
	}
	rep.Questions, rep.Passages = len(qs), len(ps)

	bdir, ddir := filepath.Join(o.Dir, "bm25"), filepath.Join(o.Dir, "dense")
	if _, err := bm25.Build(ctx, bdir, corpus.Seq(ps), bm25.BuildOptions{}); err != nil {
		return rep, err
	}
	bix, err := bm25.Open(bdir)
	if err != nil {
		return rep, err
	}
	defer bix.Close()
	emb := o.Embedder
	fmt.Fprintf(log, "bench dense: embedding %d paragraphs with %s…\n", len(ps), o.Embed)
	if _, err := dense.BuildEmbedded(ctx, ddir, emb, corpus.Seq(ps), "passage: ", 256, dense.BuildOptions{Normalize: true}); err != nil {
		return rep, err
	}
	dix, err := dense.Open(ddir)
	if err != nil {
		return rep, err
	}
	defer dix.Close()
	dr := &dense.Retriever{Index: dix, Embedder: emb, QueryPrefix: "query: "}
	rrf, err := search.NewHybrid(bix, dr, search.HybridConfig{Fusion: search.RRF})
	if err != nil {
		return rep, err
	}
	weighted, err := search.NewHybrid(bix, dr, search.HybridConfig{Fusion: search.Weighted})
	if err != nil {
		return rep, err
	}
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	for _, r := range []struct {
		name string
		r    search.Retriever
	}{{"bm25", bix}, {"dense", dr}, {"hybrid rrf (k=60)", rrf}, {"hybrid weighted (0.5/0.5)", weighted}} {
		hits, err := r.r.Search(ctx, texts, o.K)
		if err != nil {
			return rep, fmt.Errorf("bench dense: %s: %w", r.name, err)
		}
		both, one := supportingRecall(qs, hits)
		rep.Rows = append(rep.Rows, HotpotRecall{Retriever: r.name, Both: both, AtLeast1: one})
	}
	return rep, nil
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

// WriteText prints the report as `sleuth bench dense --set hotpotqa`
// shows it.
func (r HotpotReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "set               hotpotqa: %d questions over the union of their %d paragraphs, top-%d, dense side %s\n", r.Questions, r.Passages, r.K, r.Embed)
	if r.Plumbing {
		fmt.Fprintln(w, "                  (the committed random BERT: plumbing only, a random encoder cannot help recall)")
	}
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%-26s both supporting in top %d: %5.1f%%   at least one: %5.1f%%\n", row.Retriever, r.K, 100*row.Both, 100*row.AtLeast1)
	}
}
