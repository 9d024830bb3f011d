package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// newExportCmd writes question files in trainers' formats.
func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write questions as a trainer's dataset (verl)",
	}
	cmd.AddCommand(newExportVerlCmd())
	return cmd
}

func newExportVerlCmd() *cobra.Command {
	var data, preset, out, split string
	cmd := &cobra.Command{
		Use:   "verl --data FILE --preset P --out DIR",
		Short: "Write verl's Parquet rows (prompt, reward_model.ground_truth, extra_info.tools_kwargs) for a preset",
		Long: `Write a question file in any format sleuth reads as verl's training rows,
DIR/SPLIT.parquet: the prompt built by the preset's template, the gold
answers as reward_model.ground_truth.target, and extra_info.tools_kwargs
holding each tool's create_kwargs (preset, question, gold) for the
sleuth_verl tools (integrations/verl), which run in sleuth serve --env.
The file reads back with sleuth score --data and eval --data.`,
		Example: `  sleuth export verl --data world/questions.jsonl --preset searchr1 --out data --split train`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || out == "" {
				return errors.New("export verl: --data and --out are required")
			}
			p, err := loadPreset(preset)
			if err != nil {
				return err
			}
			qs, err := eval.LoadQuestions(data)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("export verl: %w", err)
			}
			path := filepath.Join(out, split+".parquet")
			if err := atomicfile.WriteFunc(path, func(w *bufio.Writer) error { return eval.WriteVerl(w, qs, p, split) }); err != nil {
				return err
			}
			fmt.Fprintf(stderr(cmd), "sleuth: wrote %d verl rows for preset %s to %s\n", len(qs), p.Name, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "question file (Search-R1 JSONL or Parquet, FlashRAG, HotpotQA, world questions, …)")
	f.StringVar(&preset, "preset", "searchr1", "preset whose prompt and tools the rows carry (a tags-mode preset)")
	f.StringVar(&out, "out", "", "directory to write SPLIT.parquet into")
	f.StringVar(&split, "split", "train", "split name: the file name and extra_info.split")
	return cmd
}
