//go:build !unix

// Package cputime reads the process's own CPU time, which, unlike wall
// time, does not grow while other processes hold the cores: benchmarks on
// a shared machine divide by it.
package cputime

import "time"

// Process is unavailable here: 0, and callers report wall time only.
func Process() time.Duration { return 0 }
