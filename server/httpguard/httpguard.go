// Package httpguard is the frame every sleuth HTTP server shares, so that a
// limit is fixed once: read, write and idle timeouts; a cap on open
// connections; a bounded work queue that answers 429 or 503 with
// Retry-After instead of queueing without end; Host and Origin checks that
// keep web pages a user opens (DNS rebinding, cross-origin posts) away from
// a loopback server; JSON-only request bodies; optional API keys; and a
// refusal to listen beyond loopback without a key.
//
// A server builds its handler, then calls Listen and Serve (or wraps the
// handler with Handler when something else owns the listener, as tests
// with httptest do).
package httpguard

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/netutil"
)

// Config is the frame's settings. Zero fields take the defaults noted.
type Config struct {
	ReadHeaderTimeout time.Duration // default 10 s
	ReadTimeout       time.Duration // headers and body; default 60 s
	// WriteTimeout bounds a whole response, a stream included; default
	// 15 min. Streams also set a per-write deadline (WriteStall).
	WriteTimeout time.Duration
	// WriteStall bounds one write of a streamed response: a client that
	// stops reading for this long is dropped (default 10 s).
	WriteStall      time.Duration
	IdleTimeout     time.Duration // keep-alive; default 2 min
	ShutdownTimeout time.Duration // graceful drain; default 10 s
	MaxHeaderBytes  int           // default 64 KiB

	MaxConns    int           // open connections; default 256
	MaxInFlight int           // requests doing work at once; default 64
	MaxQueue    int           // requests waiting for a slot beyond that; default 256, more get 429
	QueueWait   time.Duration // longest wait for a slot before 503; default 30 s
	// Unqueued lists paths that skip the work queue (cheap reads such as
	// /healthz and /metrics): a full queue must not make a server look dead.
	Unqueued []string

	// APIKey, when set, is required on every request but those to Public
	// paths, as "Authorization: Bearer KEY" or "X-API-Key: KEY".
	APIKey string
	Public []string // paths open without the key; default /healthz
	// InsecureNoAuth allows listening on a non-loopback address without an
	// API key. Anyone who can reach the port can then use the server.
	InsecureNoAuth bool
	// AllowedHosts are DNS names accepted in Host and Origin besides
	// localhost and IP literals (the name of a reverse proxy, say).
	AllowedHosts []string

	Logger *slog.Logger // default slog.Default()
}

// Defaults returns c with zero fields filled in.
func (c Config) Defaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.ReadHeaderTimeout, 10*time.Second)
	set(&c.ReadTimeout, 60*time.Second)
	set(&c.WriteTimeout, 15*time.Minute)
	set(&c.WriteStall, 10*time.Second)
	set(&c.IdleTimeout, 2*time.Minute)
	set(&c.ShutdownTimeout, 10*time.Second)
	set(&c.QueueWait, 30*time.Second)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 64
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 256
	}
	if c.Public == nil {
		c.Public = []string{"/healthz"}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// ErrNoAuth is returned by Listen for a non-loopback address without an
// API key or InsecureNoAuth.
var ErrNoAuth = errors.New("refusing to listen beyond loopback without an API key (give --api-key-env NAME, or --insecure-no-auth to accept anyone who can reach the port)")

// CheckBind reports ErrNoAuth if addr is not a loopback address and c has
// neither an API key nor InsecureNoAuth. The unspecified address (0.0.0.0,
// ::) listens on every interface and so is not loopback.
func CheckBind(addr net.Addr, c Config) error {
	if c.APIKey != "" || c.InsecureNoAuth {
		return nil
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, ErrNoAuth)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("listen %s: %w", addr, ErrNoAuth)
	}
	return nil
}

// Listen listens on addr, refuses it (closing the listener) when
// CheckBind does, and caps open connections at c.MaxConns.
func Listen(ctx context.Context, addr string, c Config) (net.Listener, error) {
	c = c.Defaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if err := CheckBind(ln.Addr(), c); err != nil {
		ln.Close()
		return nil, err
	}
	return netutil.LimitListener(ln, c.MaxConns), nil
}

// NewServer returns an http.Server for h with c's timeouts; h should
// already be wrapped by Handler.
func NewServer(h http.Handler, c Config) *http.Server {
	c = c.Defaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn),
	}
}

// Serve serves h, wrapped by Handler, on ln until ctx ends, then drains
// requests in flight for up to c.ShutdownTimeout. It closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, c Config) error {
	c = c.Defaults()
	srv := NewServer(Handler(h, c), c)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // drop what did not finish in time
		return fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Handler wraps h with the checks, in this order: Host (421), Origin
// (403), API key (401), JSON body (415), then the work queue (429 when
// full, 503 after QueueWait). Refusals are JSON
// {"error":{"message","type"}}, the shape both sleuth APIs use.
func Handler(h http.Handler, c Config) http.Handler {
	c = c.Defaults()
	return &guard{next: h, cfg: c, slots: make(chan struct{}, c.MaxInFlight), queued: make(chan struct{}, c.MaxQueue)}
}

type guard struct {
	next   http.Handler
	cfg    Config
	slots  chan struct{} // a token per request doing work
	queued chan struct{} // a token per request waiting for a slot
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		refuse(w, http.StatusMisdirectedRequest, "misdirected_request", fmt.Sprintf("this server does not answer for host %q", r.Host))
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !g.originAllowed(o, r.Host) {
		refuse(w, http.StatusForbidden, "forbidden_origin", fmt.Sprintf("requests from origin %q are not accepted", o))
		return
	}
	if g.cfg.APIKey != "" && !contains(g.cfg.Public, r.URL.Path) && !g.keyOK(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sleuth"`)
		refuse(w, http.StatusUnauthorized, "invalid_api_key", "missing or wrong API key (send Authorization: Bearer KEY)")
		return
	}
	if hasBody(r) && !isJSON(r.Header.Get("Content-Type")) {
		refuse(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("request bodies must be application/json, got %q", r.Header.Get("Content-Type")))
		return
	}
	if contains(g.cfg.Unqueued, r.URL.Path) {
		g.next.ServeHTTP(w, r)
		return
	}
	release, status, msg := g.acquire(r.Context())
	if release == nil {
		if status != 0 {
			w.Header().Set("Retry-After", "1")
			refuse(w, status, "overloaded", msg)
		}
		return
	}
	defer release()
	g.next.ServeHTTP(w, r)
}

// acquire waits for a work slot. It returns release, or nil and the status
// to answer (0 when the client went away while waiting).
func (g *guard) acquire(ctx context.Context) (release func(), status int, msg string) {
	free := func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return free, 0, ""
	default:
	}
	select {
	case g.queued <- struct{}{}:
	default:
		return nil, http.StatusTooManyRequests, fmt.Sprintf("server busy: %d requests running and %d waiting", cap(g.slots), cap(g.queued))
	}
	defer func() { <-g.queued }()
	t := time.NewTimer(g.cfg.QueueWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return free, 0, ""
	case <-t.C:
		return nil, http.StatusServiceUnavailable, fmt.Sprintf("server busy: no slot free within %s", g.cfg.QueueWait)
	case <-ctx.Done():
		return nil, 0, ""
	}
}

// hostAllowed accepts IP literals, localhost and its subdomains, and the
// configured names; with an API key, any Host (the key is what a page
// cannot learn). A DNS name that resolves to loopback is how a web page
// reaches a loopback server by DNS rebinding, so it gets 421.
func (g *guard) hostAllowed(host string) bool {
	if g.cfg.APIKey != "" {
		return true
	}
	return g.nameAllowed(host)
}

func (g *guard) nameAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, a := range g.cfg.AllowedHosts {
		if strings.EqualFold(strings.TrimSuffix(a, "."), host) {
			return true
		}
	}
	return false
}

// originAllowed accepts the request's own origin (same host and port) and
// loopback origins; "null" and foreign pages are refused, so a page on
// another site cannot post to the server from the user's browser.
func (g *guard) originAllowed(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	h := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().IsLoopback()
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	for _, a := range g.cfg.AllowedHosts {
		if strings.EqualFold(a, h) {
			return true
		}
	}
	return false
}

func (g *guard) keyOK(r *http.Request) bool {
	got := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); got == "" && len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		got = strings.TrimSpace(a[7:])
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(g.cfg.APIKey)) == 1
}

func hasBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		return r.ContentLength > 0
	}
	return r.ContentLength != 0 // -1: chunked
}

// isJSON accepts application/json and the +json types. Browsers send the
// "simple" types (text/plain, forms) cross-origin without asking first;
// refusing them closes that door.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// refuse answers with the JSON error body sleuth's servers share.
func refuse(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	body.Error.Message, body.Error.Type = msg, typ
	b, _ := json.Marshal(body)
	_, _ = w.Write(append(b, '\n'))
}

// SetWriteStall gives the next writes to w until d from now; a streaming
// handler calls it before each event, so a client that stops reading
// fails the write instead of holding the handler (and what it holds).
func SetWriteStall(w http.ResponseWriter, d time.Duration) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// KeyFromEnv reads an API key from the environment variable name ("" gives
// ""), failing when the variable is named but empty: a typo must not turn
// authentication off.
func KeyFromEnv(name string, getenv func(string) string) (string, error) {
	if name == "" {
		return "", nil
	}
	k := strings.TrimSpace(getenv(name))
	if k == "" {
		return "", fmt.Errorf("API key variable %s is empty or unset", name)
	}
	return k, nil
}

// WriteError answers with the JSON error body every sleuth server shares:
// {"error": {"message": msg, "type": typ}}.
func WriteError(w http.ResponseWriter, status int, typ, msg string) { refuse(w, status, typ, msg) }
