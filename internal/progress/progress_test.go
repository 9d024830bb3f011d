package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPeriodicLines(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "indexing", "passages", 100)
	r.every = time.Nanosecond // print on every update
	r.Add(10)
	time.Sleep(time.Millisecond)
	r.Add(40)
	r.Finish()
	r.Finish() // twice is harmless
	out := buf.String()
	for _, want := range []string{"indexing: 10/100 passages (10.0%)", "indexing: 50/100 passages (50.0%)", "ETA", "indexing: 50 passages in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, " in ") != 1 {
		t.Errorf("Finish printed more than once:\n%s", out)
	}
}

func TestNilReporter(t *testing.T) {
	var r *Reporter
	r.Add(1)
	r.Set(5)
	r.Finish() // no panic
}

func TestUnknownTotal(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "reading", "records", 0)
	r.every = time.Nanosecond
	time.Sleep(time.Millisecond)
	r.Set(7)
	if !strings.Contains(buf.String(), "reading: 7 records") || strings.Contains(buf.String(), "ETA") {
		t.Errorf("unknown total: %q", buf.String())
	}
}

func TestFmtRate(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{0, "0"}, {0.2134, "0.21"}, {3.456, "3.5"}, {12.6, "13"}, {10400, "10400"}} {
		if got := fmtRate(c.in); got != c.want {
			t.Errorf("fmtRate(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSkippedUnitsAreNotInTheRate(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "sft", "steps", 100)
	r.Skip(100) // a resumed phase that had already finished
	r.start = r.start.Add(-time.Second)
	r.Finish()
	if !strings.Contains(buf.String(), "sft: 100 steps in") || !strings.Contains(buf.String(), "(0 steps/s)") {
		t.Errorf("finish line %q: want 100 steps counted at a rate of 0", buf.String())
	}
}
