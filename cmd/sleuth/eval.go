package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
)

func newEvalCmd() *cobra.Command {
	var (
		lf                   llmFlags
		tf                   toolFlags
		preset, out, rwd     string
		judgeURL, judgeModel string
		suite, dataDir       string
		denyFile             string
		noDeny               bool
		data                 []string
		limit, concurrency   int
		seed                 int64
		jsonOut              bool
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a preset on benchmark question files, with a report",
		Long: `eval answers every question of the data files with a preset and a model,
appending each result to OUT/results.jsonl (and its episode to OUT/traces.jsonl)
as soon as it finishes, so a killed run resumes where it stopped. It then
writes OUT/summary.json, OUT/report.md and a self-contained OUT/report.html:
EM, F1, cover-EM, evidence F1, retrieval recall, turns, tokens and errors per
dataset, each with a bootstrap 95% interval.`,
		Example: `  sleuth eval --preset rag --data ../shared/data/hotpotqa/dev_distractor_400.jsonl --index idx --llm http://127.0.0.1:8001/v1 --out runs/rag
  sleuth eval --suite searchr1 --data-dir data/searchr1 --index wiki18-idx --llm http://127.0.0.1:8000/v1 --limit 100 --out runs/sr1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (len(data) == 0 && suite == "") || out == "" {
				return errors.New("--data (or --suite) and --out are required")
			}
			var sr *eval.SuiteRun
			var p agent.Preset
			var qs []eval.Question
			var err error
			if suite != "" {
				if len(data) > 0 || cmd.Flags().Changed("preset") {
					return errors.New("--suite brings its own sets and preset: drop --data and --preset")
				}
				if sr, p, qs, err = loadSuiteRun(stderr(cmd), suite, dataDir, limit); err != nil {
					return err
				}
			} else if p, err = loadPreset(preset); err != nil {
				return err
			}
			part, err := eval.LoadDataFiles(data, limit)
			if err != nil {
				return err
			}
			qs = append(qs, part...)
			if tf.deny, err = leakageGuard(denyFile, noDeny); err != nil {
				return err
			}
			sys, err := newSystem(p, &lf, &tf)
			if err != nil {
				return err
			}
			defer sys.Close()
			r := sys.Runner
			opt := eval.RunOptions{Out: out, Concurrency: concurrency, Progress: stderr(cmd)}
			if cmd.Flags().Changed("seed") {
				opt.Episode = []agent.RunOption{agent.WithSeed(seed)}
			}
			if rwd != "" {
				rc, err := reward.LoadConfig(rwd)
				if err != nil {
					return err
				}
				if opt.Reward, err = rc.Build(nil); err != nil {
					return err
				}
			}
			if judgeURL != "" {
				jc, err := llm.NewHTTP(llm.HTTPConfig{BaseURL: judgeURL, Model: judgeModel})
				if err != nil {
					return err
				}
				j, err := reward.NewJudge(jc, reward.JudgeConfig{Model: judgeModel, CachePath: filepath.Join(out, "judge-cache.jsonl")})
				if err != nil {
					return err
				}
				defer j.Close()
				opt.Judge = j
			}
			started := time.Now()
			results, runErr := eval.Run(cmd.Context(), r, qs, opt)
			if results == nil && runErr != nil {
				return runErr
			}
			info := eval.RunInfo{Preset: p.Name, Model: lf.spec, Data: data, Started: started}
			if sr != nil {
				info.Data = []string{"suite " + sr.Suite.Name + " in " + dataDir}
			}
			info.LeakageGuard = sys.Leakage()
			s := eval.Summarise(info, results, eval.Bootstrap{})
			if err := eval.WriteReport(out, s, results); err != nil {
				return err
			}
			var table *eval.SuiteTable
			if jsonOut {
				if sr != nil {
					t, err := finishSuite(sr, cmd.OutOrStdout(), out, results, true)
					if err != nil {
						return err
					}
					table = &t
				}
				if err := writeJSON(cmd.OutOrStdout(), struct {
					eval.Summary
					Suite *eval.SuiteTable `json:"suite,omitempty"`
				}{s, table}); err != nil {
					return err
				}
			} else {
				s.WriteText(cmd.OutOrStdout(), filepath.Join(out, "report.html"))
				if sr != nil {
					if _, err := finishSuite(sr, cmd.OutOrStdout(), out, results, false); err != nil {
						return err
					}
				}
			}
			if runErr != nil {
				return fmt.Errorf("run stopped after %d of %d questions (rerun to resume): %w", len(results), len(qs), runErr)
			}
			if s.Overall.Errors > 0 {
				return fmt.Errorf("%d of %d episodes failed; see %s", s.Overall.Errors, len(results), filepath.Join(out, "results.jsonl"))
			}
			return nil
		},
	}
	lf.register(cmd)
	tf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&preset, "preset", "rag", "preset name or YAML file")
	fl.StringVar(&suite, "suite", "", "run a published protocol instead of --data: a built-in suite ("+strings.Join(eval.Suites(), ", ")+") or a suite YAML file; its sets are found under --data-dir")
	fl.StringVar(&dataDir, "data-dir", "", "with --suite: the directory holding the suite's sets (as Search-R1 or FlashRAG distribute them)")
	fl.StringSliceVar(&data, "data", nil, "question files (any format sleuth reads; repeat or comma-separate)")
	fl.StringVar(&out, "out", "", "run directory (results, traces, report)")
	fl.StringVar(&rwd, "reward", "", "also record a reward per question: a reward preset name or YAML file")
	fl.IntVar(&limit, "limit", 0, "at most this many questions per data file (per set with --suite)")
	fl.StringVar(&judgeURL, "judge", "", "OpenAI-compatible base URL of an LLM judge (DeepResearcher's model-based evaluation); verdicts are cached in OUT")
	fl.StringVar(&judgeModel, "judge-model", "", "model name for the judge server")
	fl.IntVar(&concurrency, "concurrency", 8, "episodes in flight")
	fl.StringVar(&denyFile, "deny-list", "", "more leakage-guard rules (HOST or HOST/PATH a line) on top of the built-in deny-list of sites that publish benchmark answers; applied to web search results and browsing")
	fl.BoolVar(&noDeny, "no-deny-list", false, "turn the leakage guard off (web evaluations may then read the answer key)")
	fl.BoolVar(&lf.deterministic, "deterministic", true, "local model: sum every row the same way whatever shares its batch, so scores do not move with --concurrency (slower decoding)")
	fl.Int64Var(&seed, "seed", 0, "sampling seed")
	fl.BoolVar(&jsonOut, "json", false, "print the summary as JSON")
	return cmd
}

func newCompareCmd() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Paired-bootstrap differences between two evaluation runs (B − A)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := eval.LoadResults(filepath.Join(args[0], "results.jsonl"), false)
			if err != nil {
				return err
			}
			b, err := eval.LoadResults(filepath.Join(args[1], "results.jsonl"), false)
			if err != nil {
				return err
			}
			c, err := eval.Compare(a, b, eval.Bootstrap{})
			if err != nil {
				return err
			}
			if jsonOut {
				return writeJSON(cmd.OutOrStdout(), c)
			}
			c.WriteText(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the comparison as JSON")
	return cmd
}
