package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Provider names accepted by New.
const (
	SearXNG = "searxng"
	Brave   = "brave"
	Serper  = "serper"
	Tavily  = "tavily"
)

// Result is one web search result as a provider returned it.
type Result struct {
	URL     string `json:"url"`
	Title   string `json:"title"`
	Snippet string `json:"snippet"`
	// Score is the provider's own relevance score; HasScore tells whether it
	// sent one (SearXNG and Tavily do, Brave and Serper do not).
	Score    float64 `json:"score,omitempty"`
	HasScore bool    `json:"has_score,omitempty"`
}

// api is what differs between providers: how a query becomes a request and
// how a response body becomes results.
type api struct {
	name       string
	defaultURL string // root; empty when there is no public default
	keyEnv     string // empty when the provider needs no key
	maxK       int    // largest result count one request may ask for; 0: no parameter
	request    func(ctx context.Context, base, key, query string, k int) (*http.Request, error)
	parse      func(body []byte) ([]Result, error)
}

func apiFor(name string) (api, error) {
	switch name {
	case SearXNG:
		return api{name: SearXNG, request: searxngRequest, parse: ParseSearXNG}, nil
	case Brave:
		return api{name: Brave, defaultURL: "https://api.search.brave.com", keyEnv: "BRAVE_API_KEY",
			maxK: 20, request: braveRequest, parse: ParseBrave}, nil
	case Serper:
		return api{name: Serper, defaultURL: "https://google.serper.dev", keyEnv: "SERPER_API_KEY",
			maxK: 100, request: serperRequest, parse: ParseSerper}, nil
	case Tavily:
		return api{name: Tavily, defaultURL: "https://api.tavily.com", keyEnv: "TAVILY_API_KEY",
			maxK: 20, request: tavilyRequest, parse: ParseTavily}, nil
	}
	return api{}, fmt.Errorf("unknown web search provider %q (want %s, %s, %s or %s)",
		name, SearXNG, Brave, Serper, Tavily)
}

func searxngRequest(ctx context.Context, base, _, query string, _ int) (*http.Request, error) {
	v := url.Values{"q": {query}, "format": {"json"}, "pageno": {"1"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/search?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func braveRequest(ctx context.Context, base, key, query string, k int) (*http.Request, error) {
	v := url.Values{"q": {query}, "count": {strconv.Itoa(k)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/res/v1/web/search?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Subscription-Token", key)
	return req, nil
}

func serperRequest(ctx context.Context, base, key, query string, k int) (*http.Request, error) {
	return jsonPost(ctx, base+"/search", "X-API-KEY", key, struct {
		Q   string `json:"q"`
		Num int    `json:"num"`
	}{query, k})
}

func tavilyRequest(ctx context.Context, base, key, query string, k int) (*http.Request, error) {
	return jsonPost(ctx, base+"/search", "Authorization", "Bearer "+key, struct {
		Query             string `json:"query"`
		MaxResults        int    `json:"max_results"`
		SearchDepth       string `json:"search_depth"`
		IncludeAnswer     bool   `json:"include_answer"`
		IncludeRawContent bool   `json:"include_raw_content"`
	}{query, k, "basic", false, false})
}

// jsonPost builds a POST of payload as JSON with one authentication header,
// the shape Serper and Tavily share.
func jsonPost(ctx context.Context, u, authHeader, authValue string, payload any) (*http.Request, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(authHeader, authValue)
	return req, nil
}

// ParseSearXNG reads a SearXNG JSON response: results[].{url,title,content,score}.
func ParseSearXNG(body []byte) ([]Result, error) { return parseContentResults(body, "searxng") }

// parseContentResults reads the results[].{url,title,content,score} shape
// that SearXNG and Tavily share.
func parseContentResults(body []byte, provider string) ([]Result, error) {
	var r struct {
		Results []struct {
			URL     string   `json:"url"`
			Title   string   `json:"title"`
			Content string   `json:"content"`
			Score   *float64 `json:"score"`
		} `json:"results"`
	}
	if err := decode(body, &r); err != nil {
		return nil, fmt.Errorf("%s response: %w", provider, err)
	}
	out := make([]Result, 0, len(r.Results))
	for _, x := range r.Results {
		res := Result{URL: x.URL, Title: x.Title, Snippet: x.Content}
		if x.Score != nil {
			res.Score, res.HasScore = *x.Score, true
		}
		out = append(out, res)
	}
	return out, nil
}

// ParseBrave reads a Brave Web Search response: web.results[].{url,title,description}.
// A response without "web" (no web results) gives no results. The
// <strong> highlighting Brave puts in titles and descriptions is removed and
// HTML entities are decoded.
func ParseBrave(body []byte) ([]Result, error) {
	var r struct {
		Type string `json:"type"`
		Web  *struct {
			Results []struct {
				URL         string `json:"url"`
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"results"`
		} `json:"web"`
	}
	if err := decode(body, &r); err != nil {
		return nil, fmt.Errorf("brave response: %w", err)
	}
	if r.Type != "" && r.Type != "search" {
		return nil, fmt.Errorf("brave response: type %q, want \"search\"", r.Type)
	}
	if r.Web == nil {
		return []Result{}, nil
	}
	out := make([]Result, 0, len(r.Web.Results))
	for _, x := range r.Web.Results {
		out = append(out, Result{URL: x.URL, Title: cleanHighlight(x.Title), Snippet: cleanHighlight(x.Description)})
	}
	return out, nil
}

// highlightTags are the inline tags Brave wraps matched words in.
var highlightTags = strings.NewReplacer(
	"<strong>", "", "</strong>", "", "<b>", "", "</b>", "", "<em>", "", "</em>", "")

// cleanHighlight removes Brave's highlight markup and decodes HTML entities,
// so the model reads the snippet's text. Only those few tags are removed: a
// literal "a < b" in a snippet stays as it is.
func cleanHighlight(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	return html.UnescapeString(highlightTags.Replace(s))
}

// ParseSerper reads a Serper /search response: organic[].{link,title,snippet}.
func ParseSerper(body []byte) ([]Result, error) {
	var r struct {
		Organic []struct {
			Link    string `json:"link"`
			Title   string `json:"title"`
			Snippet string `json:"snippet"`
		} `json:"organic"`
	}
	if err := decode(body, &r); err != nil {
		return nil, fmt.Errorf("serper response: %w", err)
	}
	out := make([]Result, 0, len(r.Organic))
	for _, x := range r.Organic {
		out = append(out, Result{URL: x.Link, Title: x.Title, Snippet: x.Snippet})
	}
	return out, nil
}

// ParseTavily reads a Tavily /search response: results[].{url,title,content,score}.
func ParseTavily(body []byte) ([]Result, error) { return parseContentResults(body, "tavily") }

// decode unmarshals one JSON object, reporting where a syntax error sits so a
// bad body can be found in a recorded response.
func decode(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return fmt.Errorf("empty body")
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("body is not a JSON object (starts %q)", snippet(trimmed, 40))
	}
	if err := json.Unmarshal(body, v); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			line, col := lineCol(body, se.Offset)
			return fmt.Errorf("line %d column %d: %w", line, col, err)
		}
		return err
	}
	return nil
}

func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	prefix := b[:off]
	line = bytes.Count(prefix, []byte{'\n'}) + 1
	col = int(off) - bytes.LastIndexByte(prefix, '\n')
	return line, col
}

// snippet returns at most n bytes of b as a string, for error messages.
func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "?")
}
