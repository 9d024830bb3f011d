package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// Resolver looks up a host name. net.DefaultResolver satisfies it; tests
// inject a fake so no query leaves the machine.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Dialer opens connections. It is only ever handed a vetted IP literal and a
// port, never a name. *net.Dialer satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Defaults for Config's zero values.
const (
	DefaultMaxRedirects  = 5
	DefaultMaxBytes      = 5 << 20
	DefaultTimeout       = 20 * time.Second
	DefaultRatePerHost   = 2.0
	DefaultBurst         = 4
	DefaultMaxConcurrent = 16
	DefaultCacheTTL      = 7 * 24 * time.Hour
	DefaultRobotsTTL     = time.Hour
	DefaultUserAgent     = "sleuth/0.1 (research agent; +https://github.com/sleuth-research/sleuth)"
	RobotsAgent          = "sleuth"
)

// defaultContentTypes are the media types fetched unless Config says
// otherwise: things that can be read as text.
var defaultContentTypes = []string{"text/html", "text/plain", "application/xhtml+xml", "application/json"}

// defaultPorts are the ports allowed to non-loopback hosts. Ports are limited
// because a fetcher that takes any port is a port scanner and a way to speak
// HTTP at SMTP, Redis and the like on public hosts; the common web ports
// cover real pages. Loopback (when allowed) may use any port, since test
// servers and the simulated web pick their own.
var defaultPorts = []int{80, 443, 8000, 8080, 8443}

// Config configures a Client. Zero values mean the documented default.
type Config struct {
	// AllowLoopback lets the client reach 127.0.0.0/8 and ::1 (the simulated
	// web, tests). Off by default.
	AllowLoopback bool
	// AllowPrivate lets the client reach RFC 1918, CGNAT and fc00::/7
	// addresses. DANGEROUS: anyone who can put a URL in front of the agent
	// can then read the internal network. Off by default.
	AllowPrivate bool

	Resolver Resolver // default net.DefaultResolver
	Dialer   Dialer   // default a net.Dialer with a 10 s connect timeout

	MaxRedirects int           // default 5; negative follows none
	MaxBytes     int64         // body cap, default 5 MiB; longer bodies are truncated and Page.Truncated set
	Timeout      time.Duration // whole fetch including redirects and robots.txt, default 20 s
	ContentTypes []string      // allowed media types, default text/html, text/plain, application/xhtml+xml, application/json
	Ports        []int         // allowed ports for non-loopback hosts, default 80, 443, 8000, 8080, 8443
	AnyPort      bool          // allow every port

	IgnoreRobots bool          // robots.txt is honoured unless set
	RobotsTTL    time.Duration // default 1 h

	// RatePerHost limits requests per second to each host (default 2,
	// burst Burst, default 4). Loopback literals and localhost are exempt:
	// they are our own servers, such as the simulated web.
	RatePerHost float64
	Burst       int
	NoRateLimit bool // disables the per-host limit

	MaxConcurrent int // fetches in flight across all hosts, default 16

	// Extract bounds the work of turning HTML into text (zero: the
	// defaults of ExtractLimits); a page over it gets Page.ExtractNote.
	Extract ExtractLimits

	CacheDir string        // disk cache; "" disables it
	CacheTTL time.Duration // default 7 days

	UserAgent string           // default DefaultUserAgent
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger     // default slog.Default()
}

// Client fetches untrusted URLs safely. It is safe for concurrent use.
type Client struct {
	cfg     Config
	policy  Policy
	http    *http.Client
	sem     chan struct{}
	limiter *hostLimiter
	robots  *robotsCache
	cache   *diskCache
	log     *slog.Logger

	skipExtract bool // benchmarks: measure fetching alone
}

// fillDefaults replaces zero values with the documented defaults.
func (cfg *Config) fillDefaults() error {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ContentTypes == nil {
		cfg.ContentTypes = defaultContentTypes
	}
	if cfg.Ports == nil {
		cfg.Ports = defaultPorts
	}
	if cfg.RobotsTTL <= 0 {
		cfg.RobotsTTL = DefaultRobotsTTL
	}
	if cfg.RatePerHost < 0 {
		return fmt.Errorf("fetch config: RatePerHost %v < 0", cfg.RatePerHost)
	}
	if cfg.RatePerHost == 0 {
		cfg.RatePerHost = DefaultRatePerHost
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// New validates cfg, fills in defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:    cfg,
		policy: Policy{AllowLoopback: cfg.AllowLoopback, AllowPrivate: cfg.AllowPrivate},
		sem:    make(chan struct{}, cfg.MaxConcurrent),
		log:    cfg.Logger,
	}
	if !cfg.NoRateLimit {
		c.limiter = newHostLimiter(cfg.RatePerHost, cfg.Burst, cfg.Now)
	}
	if !cfg.IgnoreRobots {
		c.robots = newRobotsCache(cfg.RobotsTTL, cfg.Now)
	}
	if cfg.CacheDir != "" {
		dc, err := newDiskCache(cfg.CacheDir, cfg.CacheTTL, cfg.Now)
		if err != nil {
			return nil, err
		}
		c.cache = dc
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would make the dial check meaningless
		DialContext:           c.dial,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   cfg.MaxConcurrent,
		IdleConnTimeout:       30 * time.Second,
	}
	c.http = &http.Client{
		Transport: tr,
		// Redirects are followed by Fetch itself, one checked hop at a time.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Link is a hyperlink in a page's readable part.
type Link struct {
	Text string `json:"text"`
	URL  string `json:"url"` // absolute http(s) URL
}

// Heading is an h1–h6 in a page's readable part.
type Heading struct {
	Level int    `json:"level"`
	Text  string `json:"text"`
}

// Page is what an agent may read from a URL.
type Page struct {
	URL         string    `json:"url"`
	FinalURL    string    `json:"final_url"`
	Status      int       `json:"status"`
	ContentType string    `json:"content_type"`
	Title       string    `json:"title"`
	Text        string    `json:"text"`
	Links       []Link    `json:"links,omitempty"`
	Headings    []Heading `json:"headings,omitempty"`
	Bytes       int64     `json:"bytes"`     // body bytes after decoding to UTF-8 (read: at most MaxBytes)
	Truncated   bool      `json:"truncated"` // the body was longer than MaxBytes
	// ExtractNote says why the text stops early although the body was read
	// (an extraction limit, see ExtractLimits); "" when it does not.
	ExtractNote string    `json:"extract_note,omitempty"`
	FromCache   bool      `json:"from_cache"`
	Fetched     time.Time `json:"fetched"`
}

// Fetch fetches rawURL and extracts its readable text. Refusals are
// *RefusedError, non-2xx answers *StatusError.
func (c *Client) Fetch(ctx context.Context, rawURL string) (*Page, error) {
	u, err := c.checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	key := u.String()
	if c.cache != nil {
		if e, ok := c.cache.get(key); ok {
			p := c.page(ctx, key, e.FinalURL, e.Status, e.ContentType, e.Body, e.Truncated, e.Fetched)
			p.FromCache = true
			return p, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch %s: waiting for a slot: %w", key, ctx.Err())
	}
	resp, final, err := c.follow(ctx, u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp)
		return nil, &StatusError{URL: final.String(), Status: resp.StatusCode}
	}
	header := resp.Header.Get("Content-Type")
	if header != "" { // refuse before reading a body we will not use
		if _, err := c.checkType(final.String(), header, nil); err != nil {
			return nil, err
		}
	}
	body, truncated, err := readLimited(resp.Body, c.cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read body: %w", final, err)
	}
	ctype, err := c.checkType(final.String(), header, body)
	if err != nil {
		return nil, err
	}
	body = toUTF8(body, resp.Header.Get("Content-Type"))
	now := c.cfg.Now()
	if c.cache != nil {
		e := cacheEntry{URL: key, FinalURL: final.String(), Status: resp.StatusCode, ContentType: ctype, Body: body, Truncated: truncated, Fetched: now}
		if err := c.cache.put(key, e); err != nil {
			c.log.Warn("fetch cache write failed", "url", key, "err", err)
		}
	}
	return c.page(ctx, key, final.String(), resp.StatusCode, ctype, body, truncated, now), nil
}

// page turns a body into a Page, extracting text from HTML.
func (c *Client) page(ctx context.Context, reqURL, finalURL string, status int, ctype string, body []byte, truncated bool, fetched time.Time) *Page {
	p := &Page{URL: reqURL, FinalURL: finalURL, Status: status, ContentType: ctype,
		Bytes: int64(len(body)), Truncated: truncated, Fetched: fetched}
	switch {
	case c.skipExtract:
	case ctype == "text/html" || ctype == "application/xhtml+xml":
		base, _ := url.Parse(finalURL)
		d := ExtractContext(ctx, body, base, c.cfg.Extract)
		p.Title, p.Text, p.Links, p.Headings, p.ExtractNote = d.Title, d.Text, d.Links, d.Headings, d.Truncated
	default:
		p.Text = CleanText(string(body))
	}
	return p
}

// follow performs GET requests, following redirects itself so that every
// hop is checked (URL, robots.txt, rate limit) before it is requested.
func (c *Client) follow(ctx context.Context, u *url.URL) (*http.Response, *url.URL, error) {
	for hop := 0; ; hop++ {
		if err := c.allowedByRobots(ctx, u); err != nil {
			return nil, nil, err
		}
		resp, err := c.get(ctx, u, "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.1")
		if err != nil {
			return nil, nil, err
		}
		if !isRedirect(resp.StatusCode) {
			return resp, u, nil
		}
		loc := resp.Header.Get("Location")
		drain(resp)
		if loc == "" {
			return nil, nil, fmt.Errorf("fetch %s: redirect %d without Location", u, resp.StatusCode)
		}
		if c.cfg.MaxRedirects < 0 || hop >= c.cfg.MaxRedirects {
			return nil, nil, fmt.Errorf("fetch %s: more than %d redirects", u, max(c.cfg.MaxRedirects, 0))
		}
		next, err := u.Parse(loc)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %s: bad redirect Location %q: %w", u, loc, err)
		}
		if u, err = c.checkURL(next.String()); err != nil {
			return nil, nil, err
		}
	}
}

// get sends one GET after the per-host rate limit.
func (c *Client) get(ctx context.Context, u *url.URL, accept string) (*http.Response, error) {
	if c.limiter != nil && !isLoopbackHost(u.Hostname()) {
		if err := c.limiter.Wait(ctx, u.Host); err != nil {
			return nil, fmt.Errorf("fetch %s: rate limit wait: %w", u, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", accept)
	resp, err := c.http.Do(req)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			out := *re
			out.URL = u.String()
			return nil, &out
		}
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return resp, nil
}

// isLoopbackHost reports a loopback literal or localhost name: our own
// servers (the simulated web), which per-host politeness need not spare.
func isLoopbackHost(host string) bool {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10) // lets the connection be reused
	resp.Body.Close()
}

// checkURL parses rawURL, refuses what policy forbids without any lookup,
// and returns it with its host normalised (0x7f.1 becomes 127.0.0.1), so the
// URL requested is the URL checked.
func (c *Client) checkURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, &RefusedError{URL: rawURL, Reason: "unparseable URL: " + err.Error()}
	}
	refuse := func(addr, why string) error { return &RefusedError{URL: rawURL, Addr: addr, Reason: why} }
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, refuse("", fmt.Sprintf("scheme %q not allowed (http and https only)", u.Scheme))
	}
	if u.User != nil {
		return nil, refuse("", "credentials in URL not allowed")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, refuse("", "URL has no host")
	}
	h, err := ParseHost(u.Hostname())
	if err != nil {
		return nil, refuse(u.Hostname(), err.Error())
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		if port, err = strconv.Atoi(ps); err != nil || port < 1 || port > 65535 {
			return nil, refuse(u.Host, "bad port")
		}
	}
	if h.IP.IsValid() {
		if why := c.checkAddr(h.IP, port); why != "" {
			return nil, refuse(h.IP.String(), why)
		}
	} else if why := checkName(h.Name, c.policy); why != "" {
		return nil, refuse(h.Name, why)
	} else if !c.cfg.AllowLoopback && !c.cfg.AnyPort && !slices.Contains(c.cfg.Ports, port) {
		// With loopback allowed the port is judged at dial time, once the
		// name's address is known.
		return nil, refuse(u.Host, fmt.Sprintf("port %d not allowed", port))
	}
	hostPart := h.String()
	if h.IP.Is6() {
		hostPart = "[" + hostPart + "]"
	}
	if u.Port() != "" {
		hostPart += ":" + strconv.Itoa(port)
	}
	u.Host = hostPart
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// checkAddr applies the address policy and the port policy to one address.
func (c *Client) checkAddr(ip netip.Addr, port int) string {
	if why := c.policy.Check(ip); why != "" {
		return why
	}
	if c.cfg.AnyPort || slices.Contains(c.cfg.Ports, port) {
		return ""
	}
	if c.cfg.AllowLoopback && ip.Unmap().IsLoopback() {
		return ""
	}
	return fmt.Sprintf("port %d not allowed", port)
}

// dial is the transport's only way out. It resolves the name itself,
// refuses the whole name if any answer is forbidden (a hostile resolver
// mixing a public and a private answer must not win a race), and dials the
// vetted IP, so there is no second lookup for DNS rebinding to exploit.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port: %w", addr, err)
	}
	var h Host
	if ip, err := netip.ParseAddr(host); err == nil {
		h.IP = ip // the transport strips the brackets from IPv6 literals
	} else if h, err = ParseHost(host); err != nil {
		return nil, &RefusedError{Addr: host, Reason: err.Error()}
	}
	var ips []netip.Addr
	if h.IP.IsValid() {
		ips = []netip.Addr{h.IP}
	} else {
		if why := checkName(h.Name, c.policy); why != "" {
			return nil, &RefusedError{Addr: h.Name, Reason: why}
		}
		answers, err := c.cfg.Resolver.LookupIPAddr(ctx, h.Name)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", h.Name, err)
		}
		for _, a := range answers {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok || a.Zone != "" {
				return nil, &RefusedError{Addr: h.Name, Reason: fmt.Sprintf("resolves to unusable address %v", a)}
			}
			ips = append(ips, ip.Unmap())
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", h.Name)
		}
	}
	for _, ip := range ips {
		if why := c.checkAddr(ip, port); why != "" {
			return nil, &RefusedError{Addr: ip.String(), Reason: namedReason(h.Name, why)}
		}
	}
	var errs []error
	for _, ip := range ips {
		conn, err := c.cfg.Dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), portStr))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial %s: %w", addr, errors.Join(errs...))
}

func namedReason(name, why string) string {
	if name == "" {
		return why
	}
	return "name " + name + " resolves to " + why
}

// readLimited reads at most max bytes and says whether there was more.
func readLimited(r io.Reader, max int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// checkType returns the media type if allowed. A missing Content-Type is
// sniffed from the body as browsers do.
func (c *Client) checkType(u, header string, body []byte) (string, error) {
	mt := ""
	if header != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(header); err != nil {
			return "", &RefusedError{URL: u, Reason: fmt.Sprintf("unparseable content type %q", header)}
		}
	} else {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	mt = strings.ToLower(mt)
	if !slices.Contains(c.cfg.ContentTypes, mt) {
		return "", &RefusedError{URL: u, Reason: fmt.Sprintf("content type %q not allowed", mt)}
	}
	return mt, nil
}

// toUTF8 decodes body by its declared charset, BOM or <meta> tag. A body
// without a certain declaration that is valid UTF-8 is taken as UTF-8:
// x/net/html/charset judges from the first 1 KiB alone and would read a
// page whose first non-ASCII byte comes later as windows-1252.
func toUTF8(body []byte, contentType string) []byte {
	e, _, certain := charset.DetermineEncoding(body, contentType)
	if e == encoding.Nop || (!certain && utf8.Valid(body)) {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	out, err := e.NewDecoder().Bytes(body)
	if err != nil {
		return bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}
