package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/eval"
)

// newScoreCmd scores a predictions file against a question file, as the
// official HotpotQA/SQuAD scripts do.
func newScoreCmd() *cobra.Command {
	var (
		data, preds string
		asJSON      bool
		perQuestion bool
		b           eval.Bootstrap
	)
	cmd := &cobra.Command{
		Use:   "score --data FILE --predictions FILE",
		Short: "Score predictions against a benchmark's gold answers (EM, F1, cover-EM, evidence)",
		Long: `Score a predictions file, one {"id","answer","evidence":[...]} per line, against a
question file in any format sleuth reads (Search-R1 JSONL or Parquet, FlashRAG,
HotpotQA, 2WikiMultihopQA, MuSiQue, world questions).

EM and F1 use the HotpotQA/SQuAD normalisation and equal the official
hotpot_evaluate_v1.py figures: averages over all questions, a missing
prediction scoring zero; with several gold answers the best one counts.
Evidence precision/recall/F1 are reported where gold passages are known.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || preds == "" {
				return errors.New("score: --data and --predictions are required")
			}
			qs, err := eval.LoadQuestions(data)
			if err != nil {
				return err
			}
			ps, err := eval.LoadPredictions(preds)
			if err != nil {
				return err
			}
			r := eval.ScorePredictions(qs, ps, b)
			if !perQuestion {
				r.PerQuestion = nil
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "question file with gold answers")
	f.StringVar(&preds, "predictions", "", "predictions JSONL: {\"id\",\"answer\",\"evidence\":[...]} per line")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&perQuestion, "per-question", false, "include every question's scores in the JSON report")
	f.IntVar(&b.Resamples, "resamples", 1000, "bootstrap resamples for the 95% intervals")
	f.Uint64Var(&b.Seed, "seed", 1, "bootstrap seed")
	return cmd
}
