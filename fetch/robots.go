package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
)

// robotsMaxBytes caps robots.txt bodies; Google reads the first 500 KiB.
const robotsMaxBytes = 500 << 10

// robotsCache holds parsed robots.txt per scheme://host:port. Concurrent
// fetches to one host share one robots.txt request.
type robotsCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*robotsEntry
}

type robotsEntry struct {
	ready   chan struct{} // closed once data is set
	data    *robotstxt.RobotsData
	expires time.Time
}

func newRobotsCache(ttl time.Duration, now func() time.Time) *robotsCache {
	return &robotsCache{ttl: ttl, now: now, entries: map[string]*robotsEntry{}}
}

// allowedByRobots refuses u when the host's robots.txt disallows it for
// RobotsAgent. robots.txt itself is fetched through the same checked path.
func (c *Client) allowedByRobots(ctx context.Context, u *url.URL) error {
	if c.robots == nil || u.Path == "/robots.txt" {
		return nil
	}
	data, err := c.robotsFor(ctx, u)
	if err != nil {
		return err
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if !data.TestAgent(path, RobotsAgent) {
		return &RefusedError{URL: u.String(), Reason: "disallowed by robots.txt"}
	}
	return nil
}

func (c *Client) robotsFor(ctx context.Context, u *url.URL) (*robotstxt.RobotsData, error) {
	rc := c.robots
	key := u.Scheme + "://" + u.Host
	rc.mu.Lock()
	e, ok := rc.entries[key]
	if ok && e.expires.IsZero() {
		rc.mu.Unlock() // another goroutine is fetching it
		select {
		case <-e.ready:
			if e.data == nil { // the loader failed, perhaps on its own deadline: try ourselves
				return c.robotsFor(ctx, u)
			}
			return e.data, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ok && rc.now().Before(e.expires) {
		rc.mu.Unlock()
		return e.data, nil
	}
	e = &robotsEntry{ready: make(chan struct{})}
	rc.entries[key] = e
	rc.mu.Unlock()

	data, ttl, err := c.loadRobots(ctx, key)
	rc.mu.Lock()
	if err != nil {
		delete(rc.entries, key) // let a later fetch try again
	} else {
		e.data, e.expires = data, rc.now().Add(ttl)
	}
	rc.mu.Unlock()
	close(e.ready)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// loadRobots fetches and parses robots.txt. Following RFC 9309: 4xx means
// no rules; 5xx or an unreachable server means disallow everything, kept
// only briefly so the host is retried.
func (c *Client) loadRobots(ctx context.Context, base string) (*robotstxt.RobotsData, time.Duration, error) {
	u, err := c.checkURL(base + "/robots.txt")
	if err != nil {
		return nil, 0, err
	}
	short := time.Minute
	var resp *http.Response
	for hop := 0; ; hop++ {
		resp, err = c.get(ctx, u, "text/plain")
		if err != nil {
			var re *RefusedError
			if errors.As(err, &re) || ctx.Err() != nil {
				return nil, 0, err
			}
			d, _ := robotstxt.FromStatusAndBytes(http.StatusServiceUnavailable, nil)
			return d, short, nil
		}
		if !isRedirect(resp.StatusCode) || hop >= c.cfg.MaxRedirects {
			break
		}
		loc := resp.Header.Get("Location")
		drain(resp)
		next, perr := u.Parse(loc)
		if perr != nil {
			d, _ := robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
			return d, c.robots.ttl, nil
		}
		if u, err = c.checkURL(next.String()); err != nil {
			return nil, 0, err
		}
	}
	defer resp.Body.Close()
	body, _, err := readLimited(resp.Body, robotsMaxBytes)
	if err != nil {
		d, _ := robotstxt.FromStatusAndBytes(http.StatusServiceUnavailable, nil)
		return d, short, nil
	}
	d, err := robotstxt.FromStatusAndBytes(resp.StatusCode, body)
	if err != nil {
		// Unparseable rules: treat as none, as crawlers do for garbage.
		d, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	}
	ttl := c.robots.ttl
	if resp.StatusCode >= 500 {
		ttl = short
	}
	return d, ttl, nil
}
