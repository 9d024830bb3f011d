package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// The index holds one passage per entity page: its id is the page's path,
// its text the entity's passages (the facts without the page's noise) and
// aliases. Indexing pages rather than the world's passages makes each hit a
// distinct URL, as a web search engine's are, with no deduplication step.
// Hub pages (topics, lists) are not indexed: they only repeat names.

// Limits on /search input.
const (
	maxQueryBytes = 2048
	maxPageno     = 1000
	maxFormBytes  = 64 << 10
	engineName    = "sleuthpedia"
	snippetChars  = 240
)

// analyzerConfig is the index's: stemmed, stopwords dropped.
func analyzerConfig() bm25.AnalyzerConfig { return bm25.AnalyzerConfig{Stem: true, Stopwords: true} }

func (s *Site) indexPassages() iter.Seq2[corpus.Passage, error] {
	return func(yield func(corpus.Passage, error) bool) {
		for _, path := range s.order {
			p := s.pages[path]
			if p.info.Kind != KindEntity {
				continue
			}
			if !yield(corpus.Passage{ID: path, Title: p.info.Title, Text: p.text + " " + p.aliases}, nil) {
				return
			}
		}
	}
}

func (s *Site) entityCount() int {
	n := 0
	for _, p := range s.pages {
		if p.info.Kind == KindEntity {
			n++
		}
	}
	return n
}

// openIndex opens Config.IndexDir when it holds an index of this site,
// builds one there when it is missing or empty, and builds into a temporary
// directory when no IndexDir is set.
func (s *Site) openIndex(ctx context.Context) error {
	dir := s.cfg.IndexDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sleuth-web-index-")
		if err != nil {
			return fmt.Errorf("web: index temp dir: %w", err)
		}
		s.tmpDir, dir = tmp, tmp
	} else if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		ix, err := bm25.Open(dir)
		if err != nil {
			return fmt.Errorf("web: open index %s: %w", dir, err)
		}
		if err := s.checkIndex(ix); err != nil {
			ix.Close()
			return fmt.Errorf("web: index %s: %w (remove it or choose another directory)", dir, err)
		}
		s.ix = ix
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("web: index %s: %w", dir, err)
	}
	if _, err := bm25.Build(ctx, dir, s.indexPassages(), bm25.BuildOptions{Analyzer: analyzerConfig()}); err != nil {
		s.Close()
		return fmt.Errorf("web: build index %s: %w", dir, err)
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		s.Close()
		return fmt.Errorf("web: open index %s: %w", dir, err)
	}
	s.ix = ix
	return nil
}

// checkIndex tells whether ix was built from this site's pages.
func (s *Site) checkIndex(ix *bm25.Index) error {
	if n := s.entityCount(); ix.Len() != n {
		return fmt.Errorf("it holds %d pages, this world has %d", ix.Len(), n)
	}
	if ix.Analyzer() != analyzerConfig() {
		return fmt.Errorf("built with analyzer %+v, want %+v", ix.Analyzer(), analyzerConfig())
	}
	for d := range ix.Len() {
		if p, ok := s.pages[ix.ID(uint32(d))]; !ok || p.info.Kind != KindEntity {
			return fmt.Errorf("page %q is not in this world", ix.ID(uint32(d)))
		}
	}
	return nil
}

// SearchResponse is SearXNG's JSON response (docs.searxng.org/dev/search_api),
// with the fields SearXNG always sends; the lists this site never fills are
// empty, not null.
type SearchResponse struct {
	Query               string         `json:"query"`
	NumberOfResults     int            `json:"number_of_results"`
	Results             []SearchResult `json:"results"`
	Answers             []string       `json:"answers"`
	Corrections         []string       `json:"corrections"`
	Infoboxes           []any          `json:"infoboxes"`
	Suggestions         []string       `json:"suggestions"`
	UnresponsiveEngines []any          `json:"unresponsive_engines"`
}

// SearchResult is one SearXNG result. Content is a snippet of the page
// around the query's terms.
type SearchResult struct {
	URL           string    `json:"url"`
	Title         string    `json:"title"`
	Content       string    `json:"content"`
	Engine        string    `json:"engine"`
	ParsedURL     [6]string `json:"parsed_url"`
	Template      string    `json:"template"`
	Engines       []string  `json:"engines"`
	Positions     []int     `json:"positions"`
	Score         float64   `json:"score"`
	Category      string    `json:"category"`
	PublishedDate *string   `json:"publishedDate"`
}

// searchParams are the parsed /search parameters.
type searchParams struct {
	q      string
	format string // "json" or "html"
	pageno int
}

// paramError is a bad request: its status and message.
type paramError struct {
	status int
	msg    string
}

func (e *paramError) Error() string { return e.msg }

// parseSearchParams validates the SearXNG parameters this site reads (q,
// format, pageno); others (categories, engines, language, time_range,
// safesearch) are accepted and ignored.
func parseSearchParams(form url.Values) (searchParams, *paramError) {
	p := searchParams{format: "html", pageno: 1}
	switch f := form.Get("format"); f {
	case "", "html":
	case "json":
		p.format = "json"
	case "csv", "rss":
		// SearXNG answers 403 for formats not enabled in settings.yml.
		return p, &paramError{http.StatusForbidden, "format " + f + " is not enabled on this instance"}
	default:
		return p, &paramError{http.StatusBadRequest, fmt.Sprintf("unknown format %q: want json or html", f)}
	}
	q := strings.TrimSpace(form.Get("q"))
	switch {
	case q == "":
		return p, &paramError{http.StatusBadRequest, "missing query: give q"}
	case len(q) > maxQueryBytes:
		return p, &paramError{http.StatusBadRequest, fmt.Sprintf("query of %d bytes: at most %d", len(q), maxQueryBytes)}
	case !utf8.ValidString(q):
		return p, &paramError{http.StatusBadRequest, "query is not valid UTF-8"}
	}
	p.q = q
	if v := form.Get("pageno"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageno {
			return p, &paramError{http.StatusBadRequest, fmt.Sprintf("pageno %q: want a whole number from 1 to %d", v, maxPageno)}
		}
		p.pageno = n
	}
	return p, nil
}

func (s *Site) serveSearch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	wantJSON := strings.Contains(r.URL.RawQuery, "format=json")
	if err := r.ParseForm(); err != nil {
		searchError(w, wantJSON, &paramError{http.StatusBadRequest, "bad query string or form: " + err.Error()})
		return
	}
	p, perr := parseSearchParams(r.Form)
	if perr != nil {
		searchError(w, wantJSON || r.Form.Get("format") == "json", perr)
		return
	}
	resp := s.search(p, s.baseURL(r))
	if p.format == "json" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.Encode(resp)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(s.resultsHTML(p, resp))
}

func searchError(w http.ResponseWriter, asJSON bool, e *paramError) {
	if !asJSON {
		http.Error(w, e.msg, e.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"error": e.msg})
}

func (s *Site) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	if r.Host == "" {
		return "http://localhost"
	}
	return "http://" + r.Host
}

// search ranks the pages for p.q and returns page p.pageno of the results.
func (s *Site) search(p searchParams, base string) SearchResponse {
	resp := SearchResponse{Query: p.q, Results: []SearchResult{}, Answers: []string{}, Corrections: []string{},
		Infoboxes: []any{}, Suggestions: []string{}, UnresponsiveEngines: []any{}}
	hits := s.ix.TopK(p.q, maxResults)
	resp.NumberOfResults = len(hits)
	from := (p.pageno - 1) * s.cfg.PerPage
	if from >= len(hits) {
		return resp
	}
	terms := analyzerConfig().Terms(p.q)
	u, _ := url.Parse(base)
	for i, h := range hits[from:min(len(hits), from+s.cfg.PerPage)] {
		path := s.ix.ID(h.Doc)
		pg := s.pages[path]
		res := SearchResult{URL: base + path, Title: pg.info.Title, Content: snippet(pg, terms),
			Engine: engineName, Template: "default.html", Engines: []string{engineName},
			Positions: []int{from + i + 1}, Score: float64(h.Score), Category: "general"}
		if u != nil {
			res.ParsedURL = [6]string{u.Scheme, u.Host, u.Path + path, "", "", ""}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp
}

// snippet picks the sentence of the page sharing the most distinct terms
// with the query (the first on ties), adds the next while short, and cuts
// at a word boundary near snippetChars.
func snippet(pg *page, terms []string) string {
	if len(pg.sents) == 0 {
		return ""
	}
	best, bestScore := 0, -1
	for i, st := range pg.sentTerms {
		n := 0
		for j, t := range terms {
			if !slices.Contains(terms[:j], t) && slices.Contains(st, t) {
				n++
			}
		}
		if n > bestScore {
			best, bestScore = i, n
		}
	}
	out := pg.sents[best]
	for j := best + 1; j < len(pg.sents) && len(out) < snippetChars/2; j++ {
		out += " " + pg.sents[j]
	}
	if len(out) > snippetChars {
		cut := strings.LastIndexByte(out[:snippetChars], ' ')
		if cut <= 0 {
			cut = snippetChars
		}
		out = out[:cut] + " …"
	}
	if best > 0 {
		out = "… " + out
	}
	return out
}

// analyseSentences splits the page's text into sentences and their terms
// once, so snippets cost no stemming at query time.
func (pg *page) analyseSentences() {
	pg.sents = sentences(pg.text)
	pg.sentTerms = make([][]string, len(pg.sents))
	for i, st := range pg.sents {
		pg.sentTerms[i] = analyzerConfig().Terms(st)
	}
}

// sentences splits text after ". ", which world passages use only between
// sentences.
func sentences(text string) []string {
	var out []string
	for text != "" {
		i := strings.Index(text, ". ")
		if i < 0 {
			out = append(out, strings.TrimSpace(text))
			break
		}
		out = append(out, text[:i+1])
		text = strings.TrimLeft(text[i+2:], " ")
	}
	return out
}

// resultsHTML is the minimal results page for format=html.
func (s *Site) resultsHTML(p searchParams, resp SearchResponse) []byte {
	var sb strings.Builder
	head(&sb, pageRand(s.seed, "/search"), "Search results for "+p.q, "/search")
	sb.WriteString("<h1>Search results</h1>\n<p>" + strconv.Itoa(resp.NumberOfResults) + " results for <q>" + esc(p.q) + "</q></p>\n<ol>\n")
	for _, r := range resp.Results {
		sb.WriteString(`<li><h3><a href="` + esc(r.URL) + `">` + esc(r.Title) + "</a></h3><p>" + esc(r.Content) + "</p></li>\n")
	}
	sb.WriteString("</ol>\n")
	if p.pageno*s.cfg.PerPage < resp.NumberOfResults {
		next := url.Values{"q": {p.q}, "pageno": {strconv.Itoa(p.pageno + 1)}}
		sb.WriteString(`<p><a rel="next" href="/search?` + esc(next.Encode()) + `">Next page</a></p>` + "\n")
	}
	foot(&sb)
	return []byte(sb.String())
}
