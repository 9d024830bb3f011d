package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the user plus system CPU time this process has used.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// procStatus holds the memory lines of /proc/self/status, in kB.
type procStatus struct {
	RSSkB int64 // VmRSS: resident now
	HWMkB int64 // VmHWM: peak resident since the process started
}

func (s procStatus) RSSMB() float64 { return float64(s.RSSkB) / 1024 }
func (s procStatus) HWMMB() float64 { return float64(s.HWMkB) / 1024 }

func readProcStatus() (procStatus, error) {
	const path = "/proc/self/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return procStatus{}, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := parseProcStatus(b)
	if err != nil {
		return procStatus{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// parseProcStatus reads the VmRSS and VmHWM lines ("VmRSS:  1234 kB").
func parseProcStatus(b []byte) (procStatus, error) {
	var st procStatus
	var seenRSS, seenHWM bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return st, fmt.Errorf("line %d: want %q, got %q", line, key+": N kB", sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return st, fmt.Errorf("line %d: bad %s value %q", line, key, f[0])
		}
		if key == "VmRSS" {
			st.RSSkB, seenRSS = n, true
		} else {
			st.HWMkB, seenHWM = n, true
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	if !seenRSS || !seenHWM {
		return st, fmt.Errorf("no VmRSS and VmHWM lines")
	}
	return st, nil
}
