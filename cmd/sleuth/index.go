package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// indexSummary is what `sleuth index --json` prints.
type indexSummary struct {
	Out      string  `json:"out"`
	Passages int     `json:"passages"`
	Skipped  int     `json:"skipped"`
	Terms    int     `json:"terms"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Shards   int     `json:"shards,omitempty"`
}

func newIndexCmd() *cobra.Command {
	var (
		files           []string
		out, format     string
		skipBad, asJSON bool
		stem, stop      bool
		prefixIDs       bool
		k1, b           float64
		mem, to         string
		shards          int
	)
	cmd := &cobra.Command{
		Use:   "index --corpus FILE... (--out DIR [--shards N] | --to es:URL/INDEX)",
		Short: "Build the embedded BM25 index over corpus files",
		Long: "Build the embedded BM25 index over one or more corpus files (JSONL, JSON arrays, Parquet,\n" +
			"HotpotQA; see --format). The index is published atomically: a failed or interrupted build\n" +
			"leaves the previous index in DIR untouched. --shards N splits it into N shards searched in\n" +
			"parallel with the whole corpus's statistics (results equal the unsharded index's). --to loads\n" +
			"the corpus into an Elasticsearch (es:URL/INDEX) or OpenSearch (os:URL/INDEX) index instead,\n" +
			"created with an analyzer and BM25 k1/b matching sleuth's.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 || (out == "") == (to == "") {
				return errors.New("index: --corpus and one of --out or --to are required")
			}
			f, err := corpus.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
			skipped := 0
			passages := corpus.ReadFiles(files, corpus.Options{Format: f, SkipBad: skipBad}, prefixIDs, &skipped)
			if to != "" {
				if shards > 1 {
					return errors.New("index: --shards is for --out; the cluster shards its own index")
				}
				return loadRemote(cmd, to, passages, bm25.Params{K1: k1, B: b}, bm25.AnalyzerConfig{Stem: stem, Stopwords: stop}, &skipped, asJSON)
			}
			budget, err := parseMem(mem)
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
			defer limitHeap(budget)()
			start := time.Now()
			opt, finish := buildProgress(cmd, 0)
			opt.Analyzer, opt.BM25, opt.MemBudget, opt.Shards = bm25.AnalyzerConfig{Stem: stem, Stopwords: stop}, bm25.Params{K1: k1, B: b}, budget, shards
			st, err := bm25.Build(cmd.Context(), out, passages, opt)
			finish()
			if err != nil {
				return err
			}
			sum := indexSummary{Out: out, Passages: st.Passages, Skipped: skipped, Terms: st.Terms, Bytes: st.Bytes,
				Seconds: time.Since(start).Seconds(), Shards: st.Shards}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), sum)
			}
			if skipBad {
				fmt.Fprintf(cmd.OutOrStdout(), "skipped %d malformed records\n", skipped)
			}
			in := ""
			if sum.Shards > 1 {
				in = fmt.Sprintf(" in %d shards", sum.Shards)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d passages, %d terms, %.1f MB%s in %.1f s -> %s\n",
				sum.Passages, sum.Terms, float64(sum.Bytes)/1e6, in, sum.Seconds, out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&files, "corpus", nil, "corpus file(s) to index (repeat or comma-separate)")
	fl.StringVar(&out, "out", "", "index directory")
	fl.StringVar(&format, "format", "auto", "corpus format (auto, searchr1, jsonl, json-array, parquet, hotpotqa, hotpotqa-original)")
	fl.BoolVar(&skipBad, "skip-bad", false, "skip malformed records (and print how many) instead of stopping")
	fl.BoolVar(&prefixIDs, "prefix-ids", false, "prefix every passage id with its file's name (FILE:ID), for corpora whose ids collide")
	fl.BoolVar(&stem, "stem", false, "apply the Snowball English (Porter2) stemmer")
	fl.BoolVar(&stop, "stopwords", false, "drop Lucene's English stopwords")
	fl.Float64Var(&k1, "k1", 0.9, "BM25 k1")
	fl.Float64Var(&b, "b", 0.4, "BM25 b")
	fl.StringVar(&mem, "mem", "", "memory budget of the build, such as 4GiB: postings beyond a third of it are spilled to disk and merged (default: a quarter of RAM, 256MiB–4GiB)")
	fl.IntVar(&shards, "shards", 0, "split the index into this many shards of consecutive passages, searched in parallel with the whole corpus's statistics")
	fl.StringVar(&to, "to", "", "load into Elasticsearch or OpenSearch instead of --out: es:URL/INDEX or os:URL/INDEX (the index must not exist)")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}
