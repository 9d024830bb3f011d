//go:build unix

// Package cputime reads the process's own CPU time, which, unlike wall
// time, does not grow while other processes hold the cores: benchmarks on
// a shared machine divide by it.
package cputime

import (
	"syscall"
	"time"
)

// Process is this process's user+system CPU time so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
