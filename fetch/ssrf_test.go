package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeResolver answers from a table; nothing leaves the process.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	asked   []string
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, host)
	ans, ok := r.answers[host]
	if !ok {
		return nil, fmt.Errorf("no such host %s (fake resolver)", host)
	}
	var out []net.IPAddr
	for _, a := range ans {
		ip, zone, _ := strings.Cut(a, "%")
		out = append(out, net.IPAddr{IP: net.ParseIP(ip), Zone: zone})
	}
	return out, nil
}

// recordingDialer records every address it is asked for and only ever
// connects to loopback: anything else is recorded and failed, so a test
// bug can never put a packet on the network.
type recordingDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test dialer: refusing non-loopback %s", addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *recordingDialer) seen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

func newTestClient(t *testing.T, cfg Config) (*Client, *fakeResolver, *recordingDialer) {
	t.Helper()
	res := &fakeResolver{answers: map[string][]string{}}
	dial := &recordingDialer{}
	cfg.Resolver, cfg.Dialer = res, dial
	if cfg.RatePerHost == 0 {
		cfg.NoRateLimit = true
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, res, dial
}

// refusedURLs covers every address class and encoding the fetcher must
// refuse, as literals and as names that resolve to them.
var refusedURLs = []struct {
	name, url string
	resolve   []string // answers for evil.test when the URL uses it
}{
	{"loopback v4", "http://127.0.0.1/", nil},
	{"loopback v4 other", "http://127.5.6.7/", nil},
	{"loopback v6", "http://[::1]/", nil},
	{"localhost name", "http://localhost/", nil},
	{"localhost subdomain", "http://a.localhost/", nil},
	{"localhost caps trailing dot", "http://LOCALHOST./", nil},
	{"localhost circled letters", "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/", nil},
	{"userinfo trick", "http://evil.test:80@127.0.0.1/", nil},
	{"v4-mapped loopback dotted", "http://[::ffff:127.0.0.1]/", nil},
	{"decimal with port", "http://2130706433:8080/", nil},
	{"hex octets", "http://0x7f.0x0.0x0.0x1/", nil},
	{"octal long", "http://00000000177.1/", nil},
	{"decimal", "http://2130706433/", nil},
	{"octal", "http://0177.0.0.1/", nil},
	{"hex", "http://0x7f.1/", nil},
	{"hex full", "http://0x7f000001/", nil},
	{"short form", "http://127.1/", nil},
	{"trailing dot", "http://127.0.0.1./", nil},
	{"full-width digits", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", nil},
	{"ideographic dots", "http://127\u30020\u30020\u30021/", nil},
	{"percent-encoded host", "http://127%2E0%2E0%2E1/", nil},
	{"private 10", "http://10.0.0.1/", nil},
	{"private 172", "http://172.16.5.4/", nil},
	{"private 192", "http://192.168.1.1/", nil},
	{"private octal", "http://012.0.0.1/", nil},
	{"cgnat", "http://100.64.0.1/", nil},
	{"link-local", "http://169.254.1.1/", nil},
	{"metadata v4", "http://169.254.169.254/latest/meta-data/", nil},
	{"metadata decimal", "http://2852039166/", nil},
	{"metadata v6", "http://[fd00:ec2::254]/", nil},
	{"metadata name", "http://metadata.google.internal/computeMetadata/v1/", nil},
	{"alibaba metadata", "http://100.100.100.200/", nil},
	{"multicast", "http://224.0.0.1/", nil},
	{"unspecified", "http://0.0.0.0/", nil},
	{"zero short", "http://0/", nil},
	{"broadcast", "http://255.255.255.255/", nil},
	{"reserved 240", "http://240.0.0.1/", nil},
	{"benchmark", "http://198.18.0.1/", nil},
	{"doc net 1", "http://192.0.2.1/", nil},
	{"doc net 2", "http://198.51.100.1/", nil},
	{"doc net 3", "http://203.0.113.9/", nil},
	{"ietf 192.0.0", "http://192.0.0.8/", nil},
	{"v6 unspecified", "http://[::]/", nil},
	{"v6 ula", "http://[fc00::1]/", nil},
	{"v6 link-local", "http://[fe80::1]/", nil},
	{"v6 site-local", "http://[fec0::1]/", nil},
	{"v6 multicast", "http://[ff02::1]/", nil},
	{"v6 documentation", "http://[2001:db8::1]/", nil},
	{"v4-mapped private", "http://[::ffff:10.0.0.1]/", nil},
	{"v4-mapped loopback hex", "http://[::ffff:7f00:1]/", nil},
	{"v4-mapped metadata", "http://[::ffff:169.254.169.254]/", nil},
	{"v4-compatible", "http://[::10.0.0.1]/", nil},
	{"nat64 private", "http://[64:ff9b::10.0.0.1]/", nil},
	{"nat64 loopback", "http://[64:ff9b::7f00:1]/", nil},
	{"6to4 private", "http://[2002:c0a8:101::1]/", nil},
	{"teredo", "http://[2001::1]/", nil},
	{"not global v6", "http://[4000::1]/", nil},
	{"zone", "http://[fe80::1%25eth0]/", nil},
	{"scheme file", "file:///etc/passwd", nil},
	{"scheme gopher", "gopher://example.com/", nil},
	{"scheme ftp", "ftp://example.com/", nil},
	{"credentials", "http://user:pw@example.com/", nil},
	{"odd port", "http://example.com:6379/", nil},
	{"ssh port", "http://example.com:22/", nil},
	{"too many parts", "http://1.2.3.4.5/", nil},
	{"bad octal", "http://09.0.0.1/", nil},
	{"name to loopback", "http://evil.test/", []string{"127.0.0.1"}},
	{"name to private", "http://evil.test/", []string{"10.1.2.3"}},
	{"name to metadata", "http://evil.test/", []string{"169.254.169.254"}},
	{"name to v6 metadata", "http://evil.test/", []string{"fd00:ec2::254"}},
	{"name to mapped", "http://evil.test/", []string{"::ffff:192.168.0.1"}},
	{"name to nat64", "http://evil.test/", []string{"64:ff9b::a00:1"}},
	{"name to v6 loopback", "http://evil.test/", []string{"::1"}},
	{"name to link-local zone", "http://evil.test/", []string{"fe80::1%eth0"}},
	{"name mixed public private", "http://evil.test/", []string{"93.184.216.34", "10.0.0.1"}},
	{"name to unspecified", "http://evil.test/", []string{"0.0.0.0"}},
	{"name to cgnat", "http://evil.test/", []string{"100.64.1.1"}},
	{"name https", "https://evil.test/", []string{"192.168.1.1"}},
}

func TestRefusedBeforeDial(t *testing.T) {
	t.Parallel()
	for _, tc := range refusedURLs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, res, dial := newTestClient(t, Config{IgnoreRobots: true})
			res.answers["evil.test"] = tc.resolve
			res.answers["metadata.google.internal"] = []string{"169.254.169.254"}
			res.answers["localhost"] = []string{"127.0.0.1"}
			_, err := c.Fetch(context.Background(), tc.url)
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Fetch(%q) error = %v, want *RefusedError", tc.url, err)
			}
			if re.Reason == "" {
				t.Errorf("empty reason in %v", re)
			}
			if got := dial.seen(); len(got) != 0 {
				t.Errorf("dialer called with %v; must never be", got)
			}
		})
	}
}

func TestLoopbackRefusedWithoutAllowEvenWithRealServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret")
	}))
	defer srv.Close()
	c, _, dial := newTestClient(t, Config{IgnoreRobots: true})
	_, err := c.Fetch(context.Background(), srv.URL)
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want refusal", err)
	}
	if len(dial.seen()) != 0 {
		t.Errorf("dialed %v", dial.seen())
	}
}

func TestRedirectToRefusedAddress(t *testing.T) {
	t.Parallel()
	targets := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/",
		"http://0x0a.1/",
		"http://[::ffff:192.168.1.1]/",
		"http://evil.test/",
		"http://metadata.google.internal/",
		"file:///etc/passwd",
		"http://example.com:25/",
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusFound)
			}))
			defer srv.Close()
			c, res, dial := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true})
			res.answers["evil.test"] = []string{"192.168.0.10"}
			res.answers["example.com"] = []string{"93.184.216.34"} // refused for its port, before dialing
			res.answers["metadata.google.internal"] = []string{"169.254.169.254"}
			_, err := c.Fetch(context.Background(), srv.URL+"/start")
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want refusal", err)
			}
			want := []string{strings.TrimPrefix(srv.URL, "http://")}
			if diff := cmp.Diff(want, dial.seen()); diff != "" {
				t.Errorf("dialer saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNameResolvingToLoopbackAllowedDialsVettedIP(t *testing.T) {
	t.Parallel()
	var hostHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hostHeader = r.Host
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	c, res, dial := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true})
	res.answers["site.test"] = []string{"127.0.0.1"}
	p, err := c.Fetch(context.Background(), "http://site.test:"+port+"/")
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "hello" {
		t.Errorf("text %q", p.Text)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:" + port}, dial.seen()); diff != "" {
		t.Errorf("dialer (-want +got):\n%s", diff)
	}
	if hostHeader != "site.test:"+port {
		t.Errorf("Host header %q, want the original name", hostHeader)
	}
}

func TestParseHost(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0X7F.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"10.1", "10.0.0.1"},
		{"192.168.257", "192.168.1.1"},
		{"0x", "0.0.0.0"},
		{"Example.COM.", "example.com"},
		{"bücher.de", "xn--bcher-kva.de"},
		{"[::1]", "::1"},
		{"[::ffff:10.0.0.1]", "::ffff:10.0.0.1"},
		{"under_score.example", "under_score.example"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			h, err := ParseHost(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if h.String() != tc.want {
				t.Errorf("ParseHost(%q) = %s, want %s", tc.in, h, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "4294967296", "09", "[::1", "::1%lo", "a..b", "ex ample.com"} {
		if h, err := ParseHost(bad); err == nil {
			t.Errorf("ParseHost(%q) = %v, want error", bad, h)
		}
	}
}

func TestPolicyPublicAllowed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8", "100.128.0.1", "172.32.0.1"} {
		if why := (Policy{}).Check(netip.MustParseAddr(s)); why != "" {
			t.Errorf("Check(%s) = %q, want allowed", s, why)
		}
	}
	if why := (Policy{AllowPrivate: true}).Check(netip.MustParseAddr("10.0.0.1")); why != "" {
		t.Errorf("AllowPrivate: 10.0.0.1 refused: %s", why)
	}
	for _, s := range []string{"169.254.169.254", "127.0.0.1", "fd00:ec2::254"} {
		if why := (Policy{AllowPrivate: true}).Check(netip.MustParseAddr(s)); why == "" {
			t.Errorf("AllowPrivate must still refuse %s", s)
		}
	}
}

func TestIPv6LoopbackLiteral(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "six")
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	c, _, dial := newTestClient(t, Config{AllowLoopback: true, IgnoreRobots: true})
	p, err := c.Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "six" {
		t.Errorf("text %q", p.Text)
	}
	if got := dial.seen(); len(got) != 1 || !strings.HasPrefix(got[0], "[::1]:") {
		t.Errorf("dialer saw %v", got)
	}
}

// rebindingResolver answers loopback first and a private address after,
// as a DNS-rebinding attacker would.
type rebindingResolver struct{ calls atomic.Int32 }

func (r *rebindingResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	if r.calls.Add(1) == 1 {
		return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
	}
	return []net.IPAddr{{IP: net.ParseIP("10.0.0.7")}}, nil
}

func TestDNSRebindingCheckedOnEveryDial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	dial := &recordingDialer{}
	c, err := New(Config{AllowLoopback: true, IgnoreRobots: true, NoRateLimit: true, Resolver: &rebindingResolver{}, Dialer: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u := "http://rebind.test:" + port + "/"
	if _, err := c.Fetch(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	c.Close() // force a new connection, hence a new lookup
	_, err = c.Fetch(context.Background(), u+"again")
	var re *RefusedError
	if !errors.As(err, &re) || re.Addr != "10.0.0.7" {
		t.Fatalf("second fetch: %v, want refusal of 10.0.0.7", err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:" + port}, dial.seen()); diff != "" {
		t.Errorf("dialer (-want +got):\n%s", diff)
	}
}
