// Package web is sleuth's simulated web: a synthetic world (package world)
// served as a website over real HTTP, so DeepResearcher-style agents can be
// trained and tested on the web's mess — search snippets, navigation and
// cookie banners, ads, long pages whose facts sit deep, redirects, dead
// links, slow pages and pages carrying prompt injections — without the
// internet.
//
// Every entity has a page at /wiki/<slug> holding each of its passages
// verbatim, so every fact of the entity is in its page's visible text. Hub
// pages list a country's cities and organisations (/topic/<country>) and
// every entity of a type (/list/people, /list/cities, …). /search answers in SearXNG's JSON
// format (format=json) or as a small HTML page, backed by a BM25 index of the
// entities' passages. /robots.txt disallows /private/, /healthz answers ok.
// Aliases (/wiki/<alias>) answer 301 and short links (/r/<slug>) 302 to the
// canonical page; /wiki/<Title_Written_Otherwise> and trailing slashes are
// redirected too. Pages carry a strong ETag and honour conditional and
// range requests.
//
// Everything is a deterministic function of the world: the same world
// yields the same bytes for every URL (search results carry absolute URLs,
// so they also depend on Config.BaseURL or the request's Host). Which pages
// are long, slow or poisoned is recorded in PageInfo and exposed through
// Pages, Poisoned, Hidden, Slow and Long so fetcher and guard tests can check
// what they read against what was planted.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// DefaultSlowDelay is how long `sleuth web serve` makes slow pages wait.
const DefaultSlowDelay = 150 * time.Millisecond

// DefaultPerPage is the number of search results per page (SearXNG's
// default is about 10 to 20).
const DefaultPerPage = 10

// maxResults bounds how deep search results go over all pages.
const maxResults = 100

// Config configures a Site.
type Config struct {
	// SlowDelay is how long slow pages wait before answering. Zero means
	// no wait (what tests want); the CLI uses DefaultSlowDelay.
	SlowDelay time.Duration
	// IndexDir holds the search index. Empty builds one in a temporary
	// directory that Close removes. A directory with an index built for
	// the same world is reused; an empty or missing one is built into.
	IndexDir string
	// BaseURL prefixes the URLs in search results ("http://127.0.0.1:8080").
	// Empty uses http:// and the request's Host.
	BaseURL string
	// PerPage is the number of search results per page; 0 means
	// DefaultPerPage.
	PerPage int
}

// Site is the simulated web for one world. It is an http.Handler, safe for
// concurrent use; it never changes after New.
type Site struct {
	cfg       Config
	seed      int64
	pages     map[string]*page  // by path
	order     []string          // paths in a fixed order
	byEntity  map[string]string // entity id -> path
	redirects map[string]redirect
	dead      []string
	ix        *bm25.Index
	tmpDir    string // removed by Close
	mux       *http.ServeMux
	notFound  []byte
}

// page is one served page: its description and its pre-rendered body.
type page struct {
	info PageInfo
	body []byte
	// text is the entity's passages, indexed and cut into snippets;
	// aliases are indexed too.
	text, aliases string
	sents         []string   // text's sentences
	sentTerms     [][]string // their analysed terms
	etag          string
}

// Page kinds.
const (
	KindHome   = "home"
	KindEntity = "entity"
	KindTopic  = "topic"
	KindList   = "list"
	KindOther  = "other"
)

// Layouts of entity pages.
const (
	// LayoutPlain puts the article's passages first, after the infobox.
	LayoutPlain = "plain"
	// LayoutLong puts thousands of characters of filler before every
	// passage, so the key facts sit deep in the page.
	LayoutLong = "long"
	// LayoutSplit keeps the first passage near the top and pushes the rest
	// behind filler, so a reader needs a second segment for those facts.
	LayoutSplit = "split"
)

// PageInfo describes one page and the noise planted in it.
type PageInfo struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	EntityID string `json:"entity_id,omitempty"`
	Layout   string `json:"layout,omitempty"`
	// FactOffset is the byte offset in the body of the first passage, so
	// tests can check long pages really bury their facts.
	FactOffset int         `json:"fact_offset,omitempty"`
	Slow       bool        `json:"slow,omitempty"`
	Injections []Injection `json:"injections,omitempty"`
	// DeadLinks are the paths on this page that answer 404.
	DeadLinks []string `json:"dead_links,omitempty"`
}

// Injection is one planted prompt injection. HTML is the exact markup
// inserted into the page; Text is the instruction it carries (for
// zero-width injections, the text the invisible characters encode).
type Injection struct {
	Kind   string `json:"kind"`
	Hidden bool   `json:"hidden"`
	Text   string `json:"text"`
	HTML   string `json:"html"`
}

// Redirect is one alias URL and where it points.
type Redirect struct {
	From string `json:"from"`
	To   string `json:"to"`
	Code int    `json:"code"`
}

type redirect struct {
	to   string
	code int
}

// New builds the site for w: it renders every page and builds (or opens)
// the search index. Close releases the index.
func New(w *world.World, cfg Config) (*Site, error) {
	if w == nil {
		return nil, errors.New("web: nil world")
	}
	if cfg.PerPage < 0 || cfg.SlowDelay < 0 {
		return nil, fmt.Errorf("web: per-page %d and slow delay %v must not be negative", cfg.PerPage, cfg.SlowDelay)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: base URL %q: want http(s)://host[:port]", cfg.BaseURL)
		}
	}
	if cfg.PerPage == 0 {
		cfg.PerPage = DefaultPerPage
	}
	s := &Site{cfg: cfg, seed: w.Seed, pages: map[string]*page{}, redirects: map[string]redirect{}, byEntity: map[string]string{}}
	if err := s.build(w); err != nil {
		return nil, err
	}
	if err := s.openIndex(context.Background()); err != nil {
		return nil, err
	}
	s.notFound = notFoundPage()
	s.routes()
	return s, nil
}

// Close releases the search index and removes a temporary index
// directory. Call it after the server has stopped; later calls do nothing.
func (s *Site) Close() error {
	var err error
	if s.ix != nil {
		err = s.ix.Close()
		s.ix = nil
	}
	if s.tmpDir != "" {
		if rerr := os.RemoveAll(s.tmpDir); rerr != nil && err == nil {
			err = fmt.Errorf("remove index %s: %w", s.tmpDir, rerr)
		}
		s.tmpDir = ""
	}
	return err
}

// ServeHTTP serves the site.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Pages describes every page in a fixed order (home, lists, topics, then
// entities in world order).
func (s *Site) Pages() []PageInfo {
	out := make([]PageInfo, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, s.pages[p].info.clone())
	}
	return out
}

// clone copies the slices, so callers cannot change the site's record.
func (i PageInfo) clone() PageInfo {
	i.Injections = slices.Clone(i.Injections)
	i.DeadLinks = slices.Clone(i.DeadLinks)
	return i
}

// Page describes the page at path.
func (s *Site) Page(path string) (PageInfo, bool) {
	p, ok := s.pages[path]
	if !ok {
		return PageInfo{}, false
	}
	return p.info.clone(), true
}

// EntityPath is the path of the entity's page, or "" if it has none.
func (s *Site) EntityPath(id string) string { return s.byEntity[id] }

// Poisoned lists the paths of pages carrying any injection.
func (s *Site) Poisoned() []string {
	return s.filter(func(i PageInfo) bool { return len(i.Injections) > 0 })
}

// Hidden lists the paths of pages carrying a hidden injection.
func (s *Site) Hidden() []string {
	return s.filter(func(i PageInfo) bool {
		return slices.ContainsFunc(i.Injections, func(j Injection) bool { return j.Hidden })
	})
}

// Slow lists the paths of pages that wait Config.SlowDelay.
func (s *Site) Slow() []string { return s.filter(func(i PageInfo) bool { return i.Slow }) }

// Long lists the paths of entity pages whose passages sit behind filler
// (LayoutLong and LayoutSplit).
func (s *Site) Long() []string {
	return s.filter(func(i PageInfo) bool { return i.Layout == LayoutLong || i.Layout == LayoutSplit })
}

// DeadLinks lists the paths linked from pages that answer 404.
func (s *Site) DeadLinks() []string { return slices.Clone(s.dead) }

// Redirects lists every redirecting path, sorted by From.
func (s *Site) Redirects() []Redirect {
	out := make([]Redirect, 0, len(s.redirects))
	for from, r := range s.redirects {
		out = append(out, Redirect{From: from, To: r.to, Code: r.code})
	}
	slices.SortFunc(out, func(a, b Redirect) int {
		if a.From < b.From {
			return -1
		}
		if a.From > b.From {
			return 1
		}
		return 0
	})
	return out
}

func (s *Site) filter(keep func(PageInfo) bool) []string {
	var out []string
	for _, p := range s.order {
		if keep(s.pages[p].info) {
			out = append(out, p)
		}
	}
	return out
}

// routes registers the handlers. Patterns with a method answer 405 to
// others; GET patterns also answer HEAD.
func (s *Site) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.servePage)
	m.HandleFunc("GET /wiki/{slug}", s.servePage)
	m.HandleFunc("GET /topic/{slug}", s.servePage)
	m.HandleFunc("GET /list/{slug}", s.servePage)
	m.HandleFunc("GET /private/{rest...}", s.servePage)
	m.HandleFunc("GET /r/{slug}", s.servePage)
	m.HandleFunc("GET /search", s.serveSearch)
	m.HandleFunc("POST /search", s.serveSearch)
	m.HandleFunc("GET /robots.txt", s.serveRobots)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	m.HandleFunc("/", s.serveNotFound)
	s.mux = m
}

// robots allows everything but /private/, so fetchers' robots handling
// can be tested against a page that exists yet must not be read.
const robots = "User-agent: *\nDisallow: /private/\nAllow: /\n"

func (s *Site) serveRobots(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, robots)
}

// servePage answers a page, a redirect, or 404. Pages go through
// http.ServeContent with a strong ETag, so conditional and range requests
// behave as on a real server.
func (s *Site) servePage(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if to, code, ok := s.redirectFor(path); ok {
		http.Redirect(w, r, to, code)
		return
	}
	p, ok := s.pages[path]
	if !ok {
		s.serveNotFound(w, r)
		return
	}
	if p.info.Slow && s.cfg.SlowDelay > 0 {
		t := time.NewTimer(s.cfg.SlowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			slog.Debug("web: slow page abandoned", "path", path)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("ETag", p.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.body))
}

// redirectFor finds where path redirects: a listed redirect, the page
// without a trailing slash, or the canonical slug of a /wiki/ title written
// another way ("/wiki/Varnel_Labs"). Only listed redirects appear in
// Redirects; the others are computed.
func (s *Site) redirectFor(path string) (string, int, bool) {
	if rd, ok := s.redirects[path]; ok {
		return rd.to, rd.code, true
	}
	if _, ok := s.pages[path]; ok {
		return "", 0, false
	}
	if t := strings.TrimRight(path, "/"); t != path && t != "" {
		if _, ok := s.pages[t]; ok {
			return t, http.StatusMovedPermanently, true
		}
	}
	if title, ok := strings.CutPrefix(path, "/wiki/"); ok {
		canon := "/wiki/" + slugify(title)
		if canon == path {
			return "", 0, false
		}
		if _, ok := s.pages[canon]; ok {
			return canon, http.StatusMovedPermanently, true
		}
		if rd, ok := s.redirects[canon]; ok {
			return rd.to, http.StatusMovedPermanently, true
		}
	}
	return "", 0, false
}

func (s *Site) serveNotFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if to, code, ok := s.redirectFor(r.URL.Path); ok {
		http.Redirect(w, r, to, code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write(s.notFound)
}
