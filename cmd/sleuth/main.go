// Command sleuth builds, trains, evaluates and serves research agents.
// Run `sleuth --help` for the command groups.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
)

func main() {
	ctx, caught, stop := signalContext()
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	pprof.StopCPUProfile() // a no-op unless --cpuprofile started one
	if sig := caught.Load(); sig != nil && err != nil {
		// Stopped by SIGINT or SIGTERM: say so, and exit as a shell
		// reports a process the signal ended (130, 143), so a wrapper can
		// tell an interruption from a failure.
		fmt.Fprintf(os.Stderr, "sleuth: stopped by signal %v (%v)\n", sig, err)
		os.Exit(128 + int(sig.(syscall.Signal)))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleuth:", err)
		os.Exit(1)
	}
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM
// (caught then holds that signal); commands stop their work and leave
// their files whole. A second signal exits at once, for a command that
// does not stop. stop releases the signals.
func signalContext() (context.Context, *atomic.Value, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	caught := new(atomic.Value)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		caught.Store(sig)
		cancel(fmt.Errorf("%v signal received", sig))
		if sig, ok = <-sigs; ok {
			fmt.Fprintf(os.Stderr, "sleuth: second signal %v: exiting now\n", sig)
			os.Exit(128 + int(sig.(syscall.Signal)))
		}
	}()
	return ctx, caught, func() { signal.Stop(sigs); cancel(nil) }
}
