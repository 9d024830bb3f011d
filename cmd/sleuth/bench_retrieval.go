package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus/zipf"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/bm25/bm25bench"
)

func newBenchRetrievalCmd() *cobra.Command {
	var passages, queries, k, exhaustiveN, shards int
	var asJSON bool
	var dir, mem, questions string
	var mixes []string
	cmd := &cobra.Command{
		Use:   "retrieval",
		Short: "Build a BM25 index over a streamed Zipf corpus and measure build time and memory, size, and queries/s on each query mix against exhaustive scoring",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passages <= 0 || queries <= 0 || k <= 0 {
				return fmt.Errorf("bench retrieval: --passages, --queries and -k must be positive")
			}
			budget, err := parseMem(mem)
			if err != nil {
				return fmt.Errorf("bench retrieval: %w", err)
			}
			ms := make([]zipf.Mix, len(mixes))
			for i, m := range mixes {
				if zipf.Mix(m) != bm25bench.MixReal {
					if _, err := (zipf.Config{}).WithMix(zipf.Mix(m)); err != nil {
						return fmt.Errorf("bench retrieval: %w (or %s)", err, bm25bench.MixReal)
					}
				}
				ms[i] = zipf.Mix(m)
			}
			build := func() (bm25.BuildOptions, func()) {
				restore := limitHeap(budget)
				opt, finish := buildProgress(cmd, int64(passages))
				return opt, func() { finish(); restore() }
			}
			rep, err := bm25bench.Run(cmd.Context(), bm25bench.Options{Dir: dir, Passages: passages, Queries: queries, K: k,
				Exhaustive: exhaustiveN, Mixes: ms, Questions: questions, MemBudget: budget, Shards: shards, Build: build})
			return printReport(cmd, rep, err, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&passages, "passages", 200_000, "Zipf passages to index (generated as they are indexed, never all in memory)")
	f.IntVar(&queries, "queries", 5000, "Zipf queries to time, per mix")
	f.IntVarP(&k, "k", "k", 10, "hits per query")
	f.IntVar(&exhaustiveN, "exhaustive", 1000, "queries of each mix checked against exhaustive scoring (0 = all)")
	f.StringSliceVar(&mixes, "mix", []string{"head", "content", "mid", "real"}, "query mixes: head (whole Zipf distribution), content (100 most frequent words dropped), mid (words in 0.05–2% of passages), real (HotpotQA questions over their own paragraphs, see --questions; skipped when absent)")
	f.StringVar(&questions, "questions", "", "the real mix's questions with their paragraphs (IRCoT HotpotQA JSONL; default: ../shared/data/"+bm25bench.RealQuestionsFile+")")
	f.StringVar(&mem, "mem", "", "memory budget of the build (default: a quarter of RAM, 256MiB–4GiB)")
	f.IntVar(&shards, "shards", 0, "build the index in this many shards (searched in parallel, exact global statistics)")
	f.StringVar(&dir, "dir", "", "index directory (default: a temporary one, removed afterwards)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
