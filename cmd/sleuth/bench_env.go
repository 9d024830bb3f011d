package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/retrieve"
	"github.com/sleuth-research/sleuth/server/serverbench"
	"github.com/sleuth-research/sleuth/world"
)

func newBenchEnvCmd() *cobra.Command {
	var (
		index                    string
		sessions, clients, batch int
		seconds                  float64
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Environment server tool calls/s and /retrieve queries/s, micro-batched against unbatched",
		Long: `Measure, on loopback over a BM25 index (a generated world's when --index is not
given): Search-R1 tool calls per second through the environment server with
--sessions concurrent sessions, each creating a session, searching and
scoring in a loop; and /retrieve single-query requests per second from
--clients concurrent clients, sent to a micro-batching server (--batch) and
to the unbatched one, in turn, for --seconds each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if index == "" {
				dir, err := os.MkdirTemp("", "sleuth-bench-env-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				w, err := world.Generate(world.Config{Seed: 3, Entities: 1500, Questions: 200})
				if err != nil {
					return err
				}
				index = filepath.Join(dir, "index")
				if _, err := bm25.Build(ctx, index, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
					return err
				}
				fmt.Fprintf(stderr(cmd), "bench env: built a %d-passage world index\n", len(w.Passages))
			}
			ix, err := bm25.Open(index)
			if err != nil {
				return err
			}
			defer ix.Close()
			dur := time.Duration(seconds * float64(time.Second))
			var loads []serverbench.Load
			es := newEnvServer(serveFlags{index: index}, envServeFlags{presets: "searchr1", maxSessions: 4 * sessions, ttl: time.Minute})
			defer es.Close()
			loads = append(loads, serverbench.EnvSessions(ctx, es, sessions, dur))
			for _, b := range []int{0, batch} {
				cfg := retrieve.Config{}
				name := "/retrieve unbatched"
				if b > 0 {
					cfg.Batch = &search.CoalesceConfig{MaxBatch: b}
					name = fmt.Sprintf("/retrieve batched (up to %d)", b)
				}
				rs := retrieve.New(ix, cfg)
				l := serverbench.Retrieve(ctx, rs, clients, dur)
				rs.Close()
				l.Name = name
				loads = append(loads, l)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), loads)
			}
			return serverbench.WriteLoads(cmd.OutOrStdout(), loads)
		},
	}
	f := cmd.Flags()
	f.StringVar(&index, "index", "", "BM25 index (default: a generated world's, built first)")
	f.IntVar(&sessions, "sessions", 100, "concurrent environment sessions")
	f.IntVar(&clients, "clients", 200, "concurrent /retrieve clients")
	f.IntVar(&batch, "batch", 64, "largest batched search of the micro-batching server")
	f.Float64Var(&seconds, "seconds", 5, "seconds per load")
	f.BoolVar(&asJSON, "json", false, "print the loads as JSON")
	return cmd
}
