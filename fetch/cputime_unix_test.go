//go:build unix

package fetch

import (
	"syscall"
	"time"
)

// cpuTime is the CPU this process has used, user and system; on a shared
// machine it measures work better than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
