package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/search/dense/densebench"
)

func newBenchDenseCmd() *cobra.Command {
	var (
		set, dir, export, probes string
		n, dim, clusters, q, k   int
		rescores                 string
		asJSON, reuse            bool
		emb                      denseFlags
	)
	cmd := &cobra.Command{
		Use:   "dense",
		Short: "Measure the dense index: recall@k against exact search, memory, and single-thread queries/s",
		Long: `bench dense builds a dense index over the shared e5 vectors (--set e5: each of
the 1,000 passages as a query, itself excluded) or a synthetic clustered set
(--set synthetic: --n vectors of --dim dimensions around --clusters centres,
the --queries held-out draws from the same clusters as queries), then
measures recall@k of the approximate search against exact inner-product
search, the index's resident memory against float32 flat, and single-thread
queries/s. --export writes the vectors and queries as raw float32 for the
FAISS and hnswlib peers in bench/dense.

--set hotpotqa measures retrieval instead: over the union of the shared
HotpotQA paragraphs, the share of the 400 questions whose two supporting
paragraphs are both in the top k, for BM25, dense, and their RRF and
weighted fusions. The dense side is --embed (a server or local:DIR), or by
default the committed random BERT (search/dense/bert/testdata/tiny, run
from the repository root), which checks the plumbing only: a random
encoder cannot help recall.`,
		Example: `  sleuth bench dense --set e5
  sleuth bench dense --set synthetic --n 200000 --queries 200 --probes 8,16,32,64
  sleuth bench dense --set synthetic --n 1000000 --queries 1000 --export /tmp/vecs   # the goal's size
  sleuth bench dense --set hotpotqa --embed http://127.0.0.1:8080/v1 --embed-model intfloat/e5-base-v2`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pl, err := parseInts(probes)
			if err != nil {
				return fmt.Errorf("--probes: %w", err)
			}
			rl, err := parseInts(rescores)
			if err != nil {
				return fmt.Errorf("--rescores: %w", err)
			}
			if dir == "" && !reuse {
				d, err := os.MkdirTemp("", "sleuth-bench-dense-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(d)
				dir = d
			}
			if set == "hotpotqa" {
				return benchDenseHotpot(cmd, &emb, dir, k, asJSON)
			}
			if reuse && (dir == "" || export == "") {
				return errors.New("bench dense: --reuse needs --dir (the index an earlier run built there) and --export (its queries)")
			}
			rep, err := densebench.Run(cmd.Context(), densebench.Options{Set: set, N: n, Dim: dim, Clusters: clusters, Queries: q, K: k,
				Dir: dir, Export: export, Probes: pl, Rescores: rl, Reuse: reuse, Log: stderr(cmd)})
			return printReport(cmd, rep, err, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&set, "set", "synthetic", "e5 (the shared wiki-18 e5 vectors), synthetic, or hotpotqa (retrieval recall of BM25, dense and hybrid)")
	f.IntVar(&n, "n", 100_000, "synthetic vectors")
	f.IntVar(&dim, "dim", 768, "synthetic dimension")
	f.IntVar(&clusters, "clusters", 1000, "synthetic cluster centres")
	f.IntVar(&q, "queries", 200, "synthetic queries")
	f.IntVarP(&k, "k", "k", 10, "neighbours per query")
	f.StringVar(&rescores, "rescores", "0", "comma-separated candidate counts rescored to measure (0: the index's default)")
	f.StringVar(&probes, "probes", "0", "comma-separated lists probed per query to measure (0: the index's default)")
	f.StringVar(&dir, "dir", "", "index directory (default: a temporary one, removed afterwards)")
	f.StringVar(&export, "export", "", "write base.f32, queries.f32 and meta.json here for the bench/dense peers")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&reuse, "reuse", false, "measure the index an earlier run left in --dir on the first --queries of the queries it exported to --export, without generating or building (build figures are then not reported)")
	emb.registerEmbed(f)
	return cmd
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// benchDenseHotpot runs densebench.Hotpot with f's --embed, or the
// committed random BERT; without the shared data it says it skipped.
func benchDenseHotpot(cmd *cobra.Command, f *denseFlags, dir string, k int, asJSON bool) error {
	path, err := shareddata.File(densebench.HotpotFile)
	if err == nil {
		if _, err = os.Stat(path); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	if err != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "bench dense --set hotpotqa: skipped: %v\n", err)
		return nil
	}
	plumbing := false
	if f.embed == "" {
		if _, err := os.Stat(filepath.Join(densebench.CommittedRandomBERT, "config.json")); err != nil {
			return fmt.Errorf("bench dense --set hotpotqa: no --embed given and the committed random BERT is not at %s (run from the repository root): %w", densebench.CommittedRandomBERT, err)
		}
		f.embed, plumbing = "local:"+densebench.CommittedRandomBERT, true
	}
	emb, err := f.embedder()
	if err != nil {
		return err
	}
	rep, err := densebench.Hotpot(cmd.Context(), path, densebench.HotpotOptions{Dir: dir, K: k,
		Embedder: emb, Embed: f.embed, Plumbing: plumbing, Log: stderr(cmd)})
	return printReport(cmd, rep, err, asJSON)
}
