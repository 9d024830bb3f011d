// Command sleuth builds, trains, evaluates and serves research agents.
// Run `sleuth --help` for the command groups.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	pprof.StopCPUProfile() // a no-op unless --cpuprofile started one
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleuth:", err)
		os.Exit(1)
	}
}
