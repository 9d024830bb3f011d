package main

import (
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/server/serverbench"
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
			loads, err := serverbench.Env(cmd.Context(), serverbench.EnvOptions{Index: index, Sessions: sessions, Clients: clients, Batch: batch,
				Duration: time.Duration(seconds * float64(time.Second)), Log: stderr(cmd),
				Server: func(index string) (http.Handler, func()) {
					es := newEnvServer(serveFlags{index: index}, envServeFlags{presets: "searchr1", maxSessions: 4 * sessions, ttl: time.Minute})
					return es, es.Close
				}})
			if err != nil {
				return err
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
