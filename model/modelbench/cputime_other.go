//go:build !unix

package modelbench

// cpuSeconds has no clock here: the per-CPU-second figures read 0.
func cpuSeconds() float64 { return 0 }
