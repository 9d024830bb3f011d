package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/guard"
)

func newGuardCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "guard", Short: "The prompt-injection guard: screen text, measure it"}
	cmd.AddCommand(newGuardEvalCmd(), newGuardScreenCmd())
	return cmd
}

func newGuardEvalCmd() *cobra.Command {
	var (
		corpora []string
		errs    bool
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Precision and recall of the guard on its labelled set (and its false-flag rate on corpora)",
		Long: `Screens the guard's built-in labelled set (guard/evalset/seeds.tsv: hand-written
injections and benign look-alikes in twelve languages, each also inside an ordinary passage and
in two of zero-width, full-width, homoglyph, base64, bidi and Unicode-tag encodings) and prints
precision and recall. The rules were tuned on the dev split; the test split (about 40% of the
seeds, chosen by a hash of each seed's text, every encoding of a seed in the same split) is held
out. With --corpus, every passage of each corpus counts as benign and the share flagged is printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			res, err := guard.Evaluate(ctx, guard.Rules{}, guard.EvalSet())
			if err != nil {
				return err
			}
			if err := res.WriteTable(out); err != nil {
				return err
			}
			if errs {
				for _, it := range res.Errors {
					fmt.Fprintf(out, "wrong: %s %s %s %q\n", it.ID, it.Split, it.Label, it.Text)
				}
			}
			for _, path := range corpora {
				if err := guardCorpus(ctx, cmd, path, limit); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&corpora, "corpus", nil, "corpus files whose passages count as benign (their false-flag rate is printed); repeatable")
	cmd.Flags().IntVar(&limit, "limit", 0, "passages read from each corpus at most (0: all)")
	cmd.Flags().BoolVar(&errs, "errors", false, "list every item judged wrongly")
	return cmd
}

// guardCorpus prints how many passages of a corpus the guard flags, and
// the first few.
func guardCorpus(ctx context.Context, cmd *cobra.Command, path string, limit int) error {
	c, err := guard.ScreenCorpus(ctx, path, limit)
	if err != nil {
		return fmt.Errorf("guard eval --corpus %s: %w", path, err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "corpus %s: %d passages, %d flagged (%.2f%%)\n", path, c.Passages, c.Flagged, 100*c.Rate())
	for _, s := range c.Examples {
		fmt.Fprintln(out, s)
	}
	return nil
}

func newGuardScreenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "screen [TEXT]",
		Short: "Screen one text (an argument, or stdin) and print the verdict as JSON with the text the screen read",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var text string
			if len(args) == 1 {
				text = args[0]
			} else {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 8<<20))
				if err != nil {
					return fmt.Errorf("read stdin: %w", err)
				}
				text = string(b)
			}
			v := guard.Screen(text)
			return writeJSON(cmd.OutOrStdout(), struct {
				guard.Verdict
				View string `json:"view"`
			}{v, guard.View(text)})
		},
	}
}
