package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// seen is what a loopback provider received.
type seen struct {
	Method, Path, Query, Body string
	Header                    map[string]string
}

// replayServer answers every request with the testdata body and records
// what it received. Only loopback: httptest listens on 127.0.0.1.
type replayServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newReplayServer(t *testing.T, testdata string, headers ...string) *replayServer {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", testdata))
	if err != nil {
		t.Fatal(err)
	}
	rs := &replayServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(b), Header: map[string]string{}}
		for _, h := range headers {
			s.Header[h] = r.Header.Get(h)
		}
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, s)
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *replayServer) requests() []seen {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]seen(nil), rs.reqs...)
}

func hit(rank int, provider, url, title, text, score string) search.Hit {
	meta := map[string]string{"url": url, "provider": provider}
	if score != "" {
		meta["provider_score"] = score
	}
	return search.Hit{
		Passage: corpus.Passage{ID: url, Title: title, Text: text, Meta: meta},
		Score:   1 / float64(rank+1),
		Rank:    rank,
	}
}

const (
	wikiURL  = "https://en.wikipedia.org/wiki/Marie_Curie"
	nobelURL = "https://www.nobelprize.org/prizes/physics/1903/marie-curie/facts/"
	britURL  = "https://www.britannica.com/biography/Marie-Curie"
)

func TestProviders(t *testing.T) {
	t.Parallel()
	const q = "marie curie nobel prize"
	tests := []struct {
		provider string
		testdata string
		k        int
		want     seen
		hits     []search.Hit
	}{{
		provider: SearXNG, testdata: "searxng.json", k: 10,
		want: seen{Method: "GET", Path: "/search", Query: "format=json&pageno=1&q=marie+curie+nobel+prize",
			Header: map[string]string{"Accept": "application/json"}},
		hits: []search.Hit{
			hit(0, SearXNG, wikiURL, "Marie Curie - Wikipedia", "Marie Salomea Skłodowska-Curie was a Polish and naturalised-French physicist and chemist who conducted pioneering research on radioactivity. She was the first woman to win a Nobel Prize.", "9"),
			hit(1, SearXNG, nobelURL, "Marie Curie – Facts - NobelPrize.org", "Marie Curie. Nobel Prize in Physics 1903. Born: 7 November 1867, Warsaw, Russian Empire (now Poland). Died: 4 July 1934, Sallanches, France.", "3.5"),
			hit(2, SearXNG, britURL, "Marie Curie | Biography, Facts, &amp; Nobel Prizes | Britannica", "Marie Curie, chemist and physicist who was the first woman to win a Nobel Prize and the only woman to win it in two fields.", "0.3333333333333333"),
		},
	}, {
		provider: Brave, testdata: "brave.json", k: 5,
		want: seen{Method: "GET", Path: "/res/v1/web/search", Query: "count=5&q=marie+curie+nobel+prize",
			Header: map[string]string{"X-Subscription-Token": "test-key", "Accept": "application/json"}},
		hits: []search.Hit{
			hit(0, Brave, wikiURL, "Marie Curie - Wikipedia", "Marie Salomea Skłodowska-Curie was a Polish and naturalised-French physicist and chemist who conducted pioneering research on radioactivity.", ""),
			hit(1, Brave, nobelURL, "Marie Curie – Facts - NobelPrize.org", "Marie Curie. Nobel Prize in Physics 1903. Born: 7 November 1867, Warsaw. Prize motivation: \"in recognition of the extraordinary services\" …", ""),
		},
	}, {
		provider: Serper, testdata: "serper.json", k: 2,
		want: seen{Method: "POST", Path: "/search", Body: `{"q":"marie curie nobel prize","num":2}`,
			Header: map[string]string{"X-API-KEY": "test-key", "Content-Type": "application/json"}},
		hits: []search.Hit{
			hit(0, Serper, wikiURL, "Marie Curie - Wikipedia", "She was the first woman to win a Nobel Prize, the first person to win a Nobel Prize twice, and the only person to win a Nobel Prize in two scientific fields.", ""),
			hit(1, Serper, nobelURL, "Marie Curie – Facts - NobelPrize.org", "Marie Curie. Nobel Prize in Physics 1903. Born: 7 November 1867, Warsaw, Russian Empire (now Poland).", ""),
		},
	}, {
		provider: Tavily, testdata: "tavily.json", k: 50, // above Tavily's 20: the request asks for 20
		want: seen{Method: "POST", Path: "/search",
			Body:   `{"query":"marie curie nobel prize","max_results":20,"search_depth":"basic","include_answer":false,"include_raw_content":false}`,
			Header: map[string]string{"Authorization": "Bearer test-key", "Content-Type": "application/json"}},
		hits: []search.Hit{
			hit(0, Tavily, nobelURL, "Marie Curie – Facts - NobelPrize.org", "Marie Curie. Nobel Prize in Physics 1903. Born: 7 November 1867, Warsaw, Russian Empire (now Poland). Died: 4 July 1934, Sallanches, France. Prize share: 1/4.", "0.91834"),
			hit(1, Tavily, wikiURL, "Marie Curie - Wikipedia", "She was the first woman to win a Nobel Prize, the first person to win a Nobel Prize twice, and the only person to win a Nobel Prize in two scientific fields.", "0.86512"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			t.Parallel()
			var hdrs []string
			for h := range tt.want.Header {
				hdrs = append(hdrs, h)
			}
			srv := newReplayServer(t, tt.testdata, hdrs...)
			c, err := New(tt.provider, Config{BaseURL: srv.URL, APIKey: "test-key", QPS: -1})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Search(context.Background(), []string{q}, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]search.Hit{tt.hits}, got); diff != "" {
				t.Errorf("hits (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]seen{tt.want}, srv.requests()); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, provider string
		cfg            Config
		env            string
		want           string
	}{
		{"unknown provider", "bing", Config{}, "", `unknown web search provider "bing"`},
		{"searxng needs base", SearXNG, Config{}, "", "base URL is required"},
		{"bad scheme", SearXNG, Config{BaseURL: "ftp://x"}, "", "not http(s)"},
		{"brave key missing", Brave, Config{}, "", "set BRAVE_API_KEY"},
		{"serper key missing", Serper, Config{}, "", "set SERPER_API_KEY"},
		{"tavily key missing", Tavily, Config{}, "", "set TAVILY_API_KEY"},
		{"brave key from env", Brave, Config{}, "env-key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []string{"BRAVE_API_KEY", "SERPER_API_KEY", "TAVILY_API_KEY"} {
				t.Setenv(v, tt.env)
			}
			c, err := New(tt.provider, tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.key != tt.env {
					t.Errorf("key %q, want %q from the environment", c.key, tt.env)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parse func([]byte) ([]Result, error)
		body  string
		want  string
	}{
		{"empty", ParseSearXNG, "  ", "searxng response: empty body"},
		{"html", ParseSearXNG, "<html>403 Forbidden</html>", "not a JSON object"},
		{"syntax line", ParseTavily, "{\n\"results\": [\n{\"url\": }]}", "tavily response: line 3 column"},
		{"wrong type", ParseSerper, `{"organic": {"link": "x"}}`, "serper response: json: cannot unmarshal"},
		{"brave error type", ParseBrave, `{"type": "ErrorResponse", "error": {"code": "RATE_LIMITED"}}`, `type "ErrorResponse"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCleanHighlight(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":                         "plain",
		"<strong>Marie</strong> Curie":  "Marie Curie",
		"Curie &amp; Curie &lt;b&gt;":   "Curie & Curie <b>",
		"a < b and <em>c</em> > d":      "a < b and c > d",
		"<script>x</script><b>bold</b>": "<script>x</script>bold",
	} {
		if got := cleanHighlight(in); got != want {
			t.Errorf("cleanHighlight(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseNoResults(t *testing.T) {
	t.Parallel()
	for name, parse := range map[string]func([]byte) ([]Result, error){
		"searxng": ParseSearXNG, "brave": ParseBrave, "serper": ParseSerper, "tavily": ParseTavily,
	} {
		res, err := parse([]byte(`{"type":"search","query":{"original":"zzz"}}`))
		if err != nil || len(res) != 0 {
			t.Errorf("%s: got %v, %v; want no results and no error", name, res, err)
		}
	}
}
