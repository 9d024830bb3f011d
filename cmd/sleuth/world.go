package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/world"
)

// newWorldCmd generates the synthetic multi-hop world: knowledge base,
// corpus and question splits, written under --out.
func newWorldCmd() *cobra.Command {
	var (
		cfg    world.Config
		out    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "world --out DIR",
		Short: "Generate the synthetic multi-hop world (corpus, knowledge base, questions)",
		Long: `Generate sleuth's synthetic world: invented people, places, organisations,
works and events; a corpus of passages stating their facts, with look-alike
distractors; and 1- to 4-hop chain and comparison questions split into train,
dev and test.

Writes DIR/corpus.jsonl, DIR/kb.jsonl, DIR/questions/{train,dev,test}.jsonl
and DIR/world.json. The same seed always gives byte-identical files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("world: --out DIR is required")
			}
			w, err := world.Generate(cfg)
			if err != nil {
				return err
			}
			if err := w.Write(out); err != nil {
				return err
			}
			s := w.Summary()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			return s.WriteText(cmd.OutOrStdout(), out)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Seed, "seed", 1, "world seed; each seed gives a different world")
	f.StringVar(&out, "out", "", "directory to write the world to (created if missing)")
	f.IntVar(&cfg.Entities, "entities", world.DefaultEntities, "real entities, at least 60 (look-alike distractors come on top)")
	f.IntVar(&cfg.Questions, "questions", world.DefaultQuestions, "questions over all splits")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}
