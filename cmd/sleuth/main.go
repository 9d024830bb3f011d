// Command sleuth builds, trains, evaluates and serves research agents.
// Run `sleuth --help` for the command groups.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sleuth:", err)
		os.Exit(1)
	}
}
