package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/server/httpguard"
)

// guardFlags are the access flags every serving command shares.
type guardFlags struct {
	apiKeyEnv string
	insecure  bool
}

func (g *guardFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&g.apiKeyEnv, "api-key-env", "", "name of an environment variable holding an API key that every request must send (Authorization: Bearer KEY); required to listen beyond loopback")
	cmd.Flags().BoolVar(&g.insecure, "insecure-no-auth", false, "allow listening on a non-loopback address without an API key (anyone who can reach the port can use the server)")
}

// config is the httpguard frame for these flags; unqueued paths skip the
// work queue.
func (g *guardFlags) config(unqueued ...string) (httpguard.Config, error) {
	key, err := httpguard.KeyFromEnv(g.apiKeyEnv, os.Getenv)
	if err != nil {
		return httpguard.Config{}, err
	}
	return httpguard.Config{APIKey: key, InsecureNoAuth: g.insecure, Unqueued: unqueued, Logger: slog.Default()}.Defaults(), nil
}

// serveHTTP listens on addr and serves h inside the httpguard frame until
// ctx ends, then drains.
func serveHTTP(ctx context.Context, addr string, h http.Handler, cmd *cobra.Command, gc httpguard.Config) error {
	ln, err := httpguard.Listen(ctx, addr, gc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr(cmd), "sleuth: serving on http://%s\n", ln.Addr())
	return httpguard.Serve(ctx, ln, h, gc)
}
