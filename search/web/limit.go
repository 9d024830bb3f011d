package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Retry bounds how a failing request is retried.
type Retry struct {
	// MaxAttempts is the number of attempts in all, the first included.
	// Default 4; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the sleep before the second attempt; it doubles each
	// attempt, with jitter. Default 500 ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff sleep. Default 10 s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client will wait; a
	// longer one fails the query at once. Default 30 s.
	MaxRetryAfter time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 4
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 500 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 10 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 30 * time.Second
	}
	return r
}

// backoff returns the sleep before attempt n (n ≥ 1 is the first retry):
// base·2^(n-1) capped at MaxDelay, then uniform in [d/2, d] so that many
// clients rejected together do not come back together.
func (r Retry) backoff(n int) time.Duration {
	d := r.BaseDelay
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, r.MaxDelay)
	half := int64(d / 2)
	return time.Duration(half + rand.Int64N(half+1))
}

// StatusError is a provider's non-2xx answer.
type StatusError struct {
	Provider   string
	StatusCode int
	RetryAfter time.Duration // 0 when the server sent none
	Body       string        // the start of the body, for the reason
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.Provider, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	switch {
	case e.Provider == SearXNG && e.StatusCode == http.StatusForbidden:
		msg += " (is the json format enabled in the instance's settings.yml search.formats?)"
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		msg += " (check the API key)"
	}
	return msg
}

// Temporary reports whether the status is worth retrying: 429 and 5xx.
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second) // avoid overflow; far past any limit anyway
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// bucket is a token bucket: rate tokens a second, holding at most burst.
// A nil bucket never waits.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(qps float64, burst int) *bucket {
	if qps <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: qps, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// wait takes one token, sleeping until it is there or ctx ends.
func (b *bucket) wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens-- // reserve now, so waiters queue in order
	need := -b.tokens
	b.mu.Unlock()
	if need <= 0 {
		return ctx.Err()
	}
	if err := sleep(ctx, time.Duration(need/b.rate*float64(time.Second))); err != nil {
		b.mu.Lock()
		b.tokens++ // give the reservation back
		b.mu.Unlock()
		return err
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
