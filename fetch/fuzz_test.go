package fetch

import (
	"context"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/temoto/robotstxt"
)

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:10.0.0.1]",
		"example.com.", "bücher.de", "\uff11\uff12\uff17.\uff10.\uff10.\uff11", "1.2.3.4.5", "0x", "09", "[fe80::1%eth0]", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		h, err := ParseHost(host)
		if err != nil {
			return
		}
		if h.IP.IsValid() == (h.Name != "") {
			t.Fatalf("ParseHost(%q) = %+v: exactly one of IP and Name must be set", host, h)
		}
		if h.Name != "" {
			// A name must not be something a resolver or dialer would read
			// as an address.
			if _, err := netip.ParseAddr(h.Name); err == nil {
				t.Fatalf("ParseHost(%q) gave name %q that parses as an IP", host, h.Name)
			}
			if _, ok, _ := parseWHATWGv4(h.Name); ok {
				t.Fatalf("ParseHost(%q) gave name %q that parses as IPv4", host, h.Name)
			}
		}
		// Normalising is idempotent, so the URL we request is the one checked.
		s := h.String()
		if h.IP.Is6() {
			s = "[" + s + "]"
		}
		h2, err := ParseHost(s)
		if err != nil || h2 != h {
			t.Fatalf("ParseHost(%q) = %v, but ParseHost(%q) = %v, %v", host, h, s, h2, err)
		}
		if h.IP.IsValid() {
			(Policy{}).Check(h.IP) // must not panic
		}
	})
}

func FuzzCheckURL(f *testing.F) {
	for _, tc := range refusedURLs {
		f.Add(tc.url)
	}
	f.Add("http://example.com/a?b#c")
	f.Add("https://93.184.216.34:8443/")
	c, err := New(Config{Resolver: &fakeResolver{}, Dialer: &recordingDialer{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := c.checkURL(raw)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("accepted scheme %q from %q", u.Scheme, raw)
		}
		h, err := ParseHost(u.Hostname())
		if err != nil {
			t.Fatalf("accepted %q with unparseable host %q: %v", raw, u.Hostname(), err)
		}
		if h.IP.IsValid() && (Policy{}).Check(h.IP) != "" {
			t.Fatalf("accepted %q: forbidden address %s", raw, h.IP)
		}
		// Re-checking the normalised URL gives the same URL.
		u2, err := c.checkURL(u.String())
		if err != nil || u2.String() != u.String() {
			t.Fatalf("checkURL not idempotent: %q -> %q -> %v, %v", raw, u, u2, err)
		}
	})
}

func FuzzExtract(f *testing.F) {
	for _, tc := range poisoned {
		f.Add(page(tc.body))
	}
	files, _ := filepath.Glob("testdata/*.html")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`<style>a{color:#zzz} .x>{ } @media{ .y{display:none}</style><p style="color:rgb(1,2">x</p>`)
	f.Add("<table><tr><td>a<td>b<li>c<pre>d\n e</pre>")
	base, _ := url.Parse("http://site.test/a/b")
	f.Fuzz(func(t *testing.T, body string) {
		d := Extract([]byte(body), base)
		for _, s := range append([]string{d.Title, d.Text}, linkTexts(d.Links)...) {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in output %q", s)
			}
			for _, r := range s {
				if invisibleRune(r) {
					t.Fatalf("invisible rune %U in output %q", r, s)
				}
			}
		}
		// Any text inside a hidden element leaves the output unchanged.
		plain := Extract([]byte("<p>The visible fact.</p>"), base)
		hidden := Extract([]byte(`<p>The visible fact.</p><p style="display:none">`+strings.ReplaceAll(body, "<", "")+"</p>"), base)
		if hidden.Text != plain.Text || len(hidden.Links) != 0 {
			t.Fatalf("hidden text changed the output: %q vs %q", hidden.Text, plain.Text)
		}
		for _, l := range d.Links {
			if !strings.HasPrefix(l.URL, "http://") && !strings.HasPrefix(l.URL, "https://") {
				t.Fatalf("non-http link %q", l.URL)
			}
		}
	})
}

// FuzzRobots drives robots.txt bodies through the parser and the path test
// the fetcher uses; the parser is github.com/temoto/robotstxt.
func FuzzRobots(f *testing.F) {
	f.Add(200, "User-agent: *\nDisallow: /private/\n", "/private/x")
	f.Add(200, "User-agent: sleuth\nAllow: /a$\nDisallow: /*.php\nCrawl-delay: 2\n", "/a.php?x=1")
	f.Add(503, "", "/")
	f.Add(200, "\xef\xbb\xbfuser-agent:*\r\ndisallow:\r\n", "/%E2%82%AC")
	f.Fuzz(func(t *testing.T, status int, body, path string) {
		if status < 100 || status > 599 {
			t.Skip()
		}
		d, err := robotstxt.FromStatusAndBytes(status, []byte(body))
		if err != nil {
			return
		}
		d.TestAgent("/"+strings.TrimPrefix(path, "/"), RobotsAgent)
	})
}

func linkTexts(ls []Link) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Text)
	}
	return out
}

// FuzzStylesheet drives CSS through the stylesheet parser and the matcher
// on a small fixed page, with a small work budget: each input must finish
// quickly whatever its rules, and the budget must stop matching for good.
func FuzzStylesheet(f *testing.F) {
	for _, s := range []string{
		"div{color:red}", "*{display:none}", ".a .b>p.c:has(.d){visibility:hidden}",
		"@media (min-width: 1px){@supports (x){p{display:none}}}", "a{b{c{d{e{f{g{h{i{j{display:none}}}}}}}}}}",
		"p:not(:is(.x,.y)):nth-child(2n+1){opacity:0}", "[data-x~=\"y\" i]{font-size:0}",
		strings.Repeat("div ", 200) + "{display:none}", strings.Repeat("{", 1000),
	} {
		f.Add(s)
	}
	doc, err := html.Parse(strings.NewReader(strings.Repeat(`<div class="a b" id=x><p class=c data-x=y>t<span class=d>u</span></p></div>`, 20)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, css string) {
		start := time.Now()
		b := newWorkBudget(context.Background(), 20_000)
		ss := newStylesheet(b, 500)
		order := 0
		ss.add(css, &order)
		if ss.rules > 500 {
			t.Fatalf("%d rules indexed, cap 500", ss.rules)
		}
		walk(doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode {
				hiddenByStyle(ss.computed(n))
			}
			return true
		})
		if b.left < -20_000 {
			t.Fatalf("budget overspent: %d left", b.left)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v for %d bytes of CSS", d, len(css))
		}
	})
}
