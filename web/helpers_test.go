package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sleuth-research/sleuth/world"
)

// testWorld is small enough to build in milliseconds and large enough
// that every kind of noise appears.
func testWorld(t testing.TB, seed int64) *world.World {
	t.Helper()
	w, err := world.Generate(world.Config{Seed: seed, Entities: 200, Questions: 200})
	if err != nil {
		t.Fatalf("generate world: %v", err)
	}
	return w
}

// serve starts the site for w on a loopback httptest server.
func serve(t testing.TB, w *world.World, cfg Config) (*Site, *httptest.Server) {
	t.Helper()
	s, err := New(w, cfg)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, srv
}

// noFollow is a client that reports redirects instead of following them.
func noFollow(srv *httptest.Server) *http.Client {
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func get(t testing.TB, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, body
}

// visibleText is what a careful reader sees: the text of the body without
// scripts, styles, templates, noscript, comments, elements hidden by
// attribute or inline style or the site's hidden class, and without
// zero-width characters. It is the test's own, deliberately simple,
// reference for what the site promises to show or hide.
func visibleText(t testing.TB, body []byte) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	var sb strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.CommentNode:
			return
		case html.TextNode:
			sb.WriteString(n.Data)
			return
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "template", "noscript", "head":
				return
			}
			if hiddenElement(n) {
				return
			}
			if n.Data == "p" || n.Data == "div" || n.Data == "li" || n.Data == "tr" || n.Data == "h1" || n.Data == "h2" {
				defer sb.WriteString("\n")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
			return -1
		}
		return r
	}, sb.String())
}

func hiddenElement(n *html.Node) bool {
	for _, a := range n.Attr {
		v := strings.ReplaceAll(strings.ToLower(a.Val), " ", "")
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if v == "true" {
				return true
			}
		case "class":
			if strings.Contains(" "+a.Val+" ", " "+hiddenClass+" ") {
				return true
			}
		case "style":
			for _, bad := range []string{"display:none", "visibility:hidden", "font-size:0", "left:-9999px"} {
				if strings.Contains(v, bad) {
					return true
				}
			}
			if strings.Contains(v, "color:#ffffff") && strings.Contains(v, "background-color:#ffffff") {
				return true
			}
		}
	}
	return false
}

// squash collapses runs of white space, as a reader would.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
