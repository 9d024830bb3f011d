package main

import (
	"fmt"
	"iter"
	"os"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/elastic"
)

// remoteSummary is what `sleuth index --to ... --json` prints.
type remoteSummary struct {
	To string `json:"to"`
	elastic.LoadStats
	Skipped int `json:"skipped"`
}

// loadRemote is `sleuth index --to es:URL/INDEX` (or os:): it creates the
// index with settings matching sleuth's analysis and BM25 parameters and
// bulk-loads the passages. ELASTIC_API_KEY, when set, authenticates to
// Elasticsearch.
func loadRemote(cmd *cobra.Command, to string, passages iter.Seq2[corpus.Passage, error], p bm25.Params, a bm25.AnalyzerConfig, skipped *int, asJSON bool) error {
	cfg, ok, err := elastic.ParseSpec(to)
	if !ok && err == nil {
		err = fmt.Errorf("--to %q: want es:URL/INDEX or os:URL/INDEX", to)
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if cfg.Flavor == elastic.Elasticsearch {
		cfg.APIKey = os.Getenv("ELASTIC_API_KEY")
	}
	rep := progress.New(stderr(cmd), "loading", "passages", 0)
	st, err := elastic.Load(cmd.Context(), cfg, passages, elastic.LoadOptions{BM25: p, Analyzer: a,
		Progress: func(done int) { rep.Set(int64(done)) }})
	rep.Finish()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	sum := remoteSummary{To: to, LoadStats: st, Skipped: *skipped}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), sum)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "loaded %d passages into %s %s in %.1f s (%d bulk requests, %d documents retried after 429)\n",
		st.Passages, cfg.Flavor, cfg.Index, st.Seconds, st.Requests, st.Retried)
	return nil
}
