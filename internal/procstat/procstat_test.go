package procstat

import (
	"runtime"
	"testing"
)

func TestField(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc/self/status here")
	}
	rss, peak := Field("VmRSS"), Field("VmHWM")
	if rss <= 0 || peak < rss {
		t.Errorf("VmRSS %d, VmHWM %d: want 0 < rss ≤ peak", rss, peak)
	}
	if v := Field("NoSuchField"); v != 0 {
		t.Errorf("a missing field read as %d, want 0", v)
	}
}

func TestMemTotal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no /proc/meminfo here")
	}
	if m := MemTotal(); m < 64<<20 {
		t.Errorf("MemTotal %d bytes: want at least 64 MiB", m)
	}
}
