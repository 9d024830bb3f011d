// Package procstat reads this process's memory figures from
// /proc/self/status (Linux): benchmarks report resident memory with it.
package procstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Field reads a kB field of /proc/self/status ("VmRSS", "VmHWM",
// "RssAnon", "RssFile") in bytes; 0 where there is no /proc or no such
// field.
func Field(name string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v * 1024
		}
	}
	return 0
}

// MemTotal is the machine's memory, MemTotal of /proc/meminfo, in bytes
// (0 where there is none).
func MemTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return v * 1024
		}
	}
	return 0
}
