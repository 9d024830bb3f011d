package main

import (
	"time"

	"github.com/sleuth-research/sleuth/internal/cputime"
)

// cpuTime is this process's user+system CPU time, which, unlike wall time,
// does not grow while other processes hold the cores.
func cpuTime() time.Duration { return cputime.Process() }
