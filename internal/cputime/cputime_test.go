package cputime

import (
	"runtime"
	"testing"
)

func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no process CPU time here")
	}
	t0 := Process()
	x := 0
	for i := range 50_000_000 {
		x += i ^ x>>3
	}
	if Process() <= t0 {
		t.Errorf("CPU time did not grow over a busy loop (%d)", x)
	}
}
