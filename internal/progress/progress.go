// Package progress shows the progress of long work: a bar on a terminal,
// and a periodic line with count, rate and ETA when output is a pipe or a
// log (CI), so long runs never look hung.
package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Reporter counts units of work. It is safe for concurrent use.
// A nil *Reporter ignores every call, so callers need no checks.
type Reporter struct {
	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	w        io.Writer
	what     string
	unit     string
	total    int64
	done     int64
	skipped  int64 // done before this reporter started (a resumed job): counted, not in the rate
	start    time.Time
	last     time.Time
	every    time.Duration
	finished bool
}

// New starts a reporter for total units (total <= 0 when unknown) named
// what ("indexing") counted in unit ("passages"). It writes to w; when w is
// a terminal it draws a bar, otherwise it prints a line every few seconds.
func New(w io.Writer, what, unit string, total int64) *Reporter {
	r := &Reporter{w: w, what: what, unit: unit, total: total, start: time.Now(), every: 5 * time.Second}
	r.last = r.start
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		max := total
		if max <= 0 {
			max = -1
		}
		r.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
	}
	return r
}

// Add records n more finished units.
func (r *Reporter) Add(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += int64(n)
	if r.bar != nil {
		_ = r.bar.Add(n)
		return
	}
	if now := time.Now(); now.Sub(r.last) >= r.every {
		r.last = now
		fmt.Fprintln(r.w, r.lineLocked(now))
	}
}

// Skip records n units finished before this run started (a resumed job):
// they count toward the total but not toward the rate or the ETA.
func (r *Reporter) Skip(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.skipped += int64(n)
	r.mu.Unlock()
	r.Add(n)
}

// Set records the absolute number of finished units.
func (r *Reporter) Set(done int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	delta := done - r.done
	r.mu.Unlock()
	if delta > 0 {
		r.Add(int(delta))
	}
}

// Finish prints a closing line with the total count, time and rate.
func (r *Reporter) Finish() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	if r.bar != nil {
		_ = r.bar.Finish()
	}
	el := time.Since(r.start)
	fmt.Fprintf(r.w, "%s: %d %s in %s (%s %s/s)\n", r.what, r.done, r.unit, el.Round(time.Millisecond), fmtRate(rate(r.done-r.skipped, el)), r.unit)
}

func (r *Reporter) lineLocked(now time.Time) string {
	el := now.Sub(r.start)
	rt := rate(r.done-r.skipped, el)
	if r.total > 0 && rt > 0 {
		eta := time.Duration(float64(r.total-r.done) / rt * float64(time.Second))
		return fmt.Sprintf("%s: %d/%d %s (%.1f%%), %s %s/s, ETA %s", r.what, r.done, r.total, r.unit,
			100*float64(r.done)/float64(r.total), fmtRate(rt), r.unit, eta.Round(time.Second))
	}
	return fmt.Sprintf("%s: %d %s, %s %s/s", r.what, r.done, r.unit, fmtRate(rt), r.unit)
}

// fmtRate keeps two significant digits for slow work (a training step
// every few seconds is 0.21 steps/s, not 0) and drops decimals for fast.
func fmtRate(rt float64) string {
	if rt >= 10 || rt == 0 {
		return fmt.Sprintf("%.0f", rt)
	}
	return strconv.FormatFloat(rt, 'g', 2, 64)
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
