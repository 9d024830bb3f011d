package fetch

import (
	"context"
	"sync"
	"time"
)

// maxLimitedHosts bounds the limiter's memory in long runs.
const maxLimitedHosts = 10000

// hostLimiter spaces requests per host with GCRA (a token bucket expressed
// as one timestamp per host): at most burst at once, then one every 1/rate.
type hostLimiter struct {
	interval time.Duration
	tau      time.Duration // (burst-1) * interval
	now      func() time.Time

	mu  sync.Mutex
	tat map[string]time.Time // theoretical arrival time per host
}

func newHostLimiter(rate float64, burst int, now func() time.Time) *hostLimiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	iv := time.Duration(float64(time.Second) / rate)
	return &hostLimiter{interval: iv, tau: time.Duration(burst-1) * iv, now: now, tat: map[string]time.Time{}}
}

// Wait blocks until host may be contacted again, or ctx ends. A nil limiter
// never waits.
func (l *hostLimiter) Wait(ctx context.Context, host string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := l.now()
	tat := l.tat[host]
	if tat.Before(now) {
		tat = now
	}
	delay := tat.Sub(now) - l.tau
	l.tat[host] = tat.Add(l.interval)
	if len(l.tat) > maxLimitedHosts {
		for h, t := range l.tat { // idle hosts carry no state worth keeping
			if t.Before(now) {
				delete(l.tat, h)
			}
		}
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
