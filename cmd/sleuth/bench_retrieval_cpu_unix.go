//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime is this process's user+system CPU time, which, unlike wall time,
// does not grow while other processes hold the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
