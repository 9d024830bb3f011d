package elastic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// The replay server answers requests with recorded bodies of the shapes
// Elasticsearch's and OpenSearch's documentation and sources give
// (testdata/*): each exchange names the request it expects (method, path,
// Content-Type and body, byte for byte) and the answer. A request is
// matched to the first unused exchange that expects it, so concurrent
// searches may arrive in any order and a retried request meets its next
// answer; a request nothing expects fails the test.

type exchange struct {
	method, path, ctype, body string // expected request
	status                    int
	file                      string // testdata file of the answer body
	raw                       string // or the answer body itself
	noProduct                 bool   // leave out X-Elastic-Product (Elasticsearch)
}

type replay struct {
	t      *testing.T
	flavor Flavor
	mu     sync.Mutex
	ex     []exchange
	used   []bool
	seen   []string // requests in arrival order, "METHOD PATH"
}

func newReplay(t *testing.T, flavor Flavor, ex ...exchange) (*replay, Config) {
	t.Helper()
	r := &replay{t: t, flavor: flavor, ex: ex, used: make([]bool, len(ex))}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, Config{Flavor: flavor, URL: srv.URL, Index: "wiki", Backoff: func(int) time.Duration { return time.Millisecond }}
}

func (r *replay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+req.URL.Path)
	i := -1
	for j, e := range r.ex {
		if !r.used[j] && e.method == req.Method && e.path == req.URL.Path && e.body == string(body) &&
			(e.ctype == "" || req.Header.Get("Content-Type") == e.ctype) {
			i = j
			break
		}
	}
	if i >= 0 {
		r.used[i] = true
	}
	r.mu.Unlock()
	if i < 0 {
		r.t.Errorf("unexpected request %s %s (Content-Type %q):\n%s", req.Method, req.URL, req.Header.Get("Content-Type"), body)
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	e := r.ex[i]
	out := []byte(e.raw)
	if e.file != "" {
		var err error
		if out, err = os.ReadFile(filepath.Join("testdata", e.file)); err != nil {
			r.t.Error(err)
		}
	}
	h := w.Header()
	switch {
	case strings.HasSuffix(e.file, ".html"):
		h.Set("Content-Type", "text/html")
	case r.flavor == Elasticsearch:
		h.Set("Content-Type", "application/json")
		if !e.noProduct {
			h.Set("X-Elastic-Product", "Elasticsearch")
		}
	default:
		h.Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(e.status)
	w.Write(out)
}

// done checks that every exchange was used.
func (r *replay) done() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, u := range r.used {
		if !u {
			r.t.Errorf("expected request %s %s never came (came: %v)", r.ex[i].method, r.ex[i].path, r.seen)
		}
	}
}

var testPassages = []corpus.Passage{
	{ID: "0", Title: "Evan Morris", Text: "Evan Morris was a lobbyist.", Meta: map[string]string{"url": "https://en.wikipedia.org/wiki/Evan_Morris"}},
	{ID: "1", Title: "Roche", Text: "Roche is a \"company\"."},
	{ID: "2", Title: "Morris", Text: "A surname."},
}

// The documents Load sends for testPassages, as NDJSON lines.
const (
	bulkDoc0 = `{"index":{"_id":"0"}}` + "\n" +
		`{"contents":"Evan Morris\nEvan Morris was a lobbyist.","passage":{"title":"Evan Morris","text":"Evan Morris was a lobbyist.","meta":{"url":"https://en.wikipedia.org/wiki/Evan_Morris"}}}` + "\n"
	bulkDoc1 = `{"index":{"_id":"1"}}` + "\n" +
		`{"contents":"Roche\nRoche is a \"company\".","passage":{"title":"Roche","text":"Roche is a \"company\"."}}` + "\n"
	bulkDoc2 = `{"index":{"_id":"2"}}` + "\n" +
		`{"contents":"Morris\nA surname.","passage":{"title":"Morris","text":"A surname."}}` + "\n"
	ndjson  = "application/x-ndjson"
	appJSON = "application/json"
)

func searchReq(q string, k int) string {
	return `{"_source":["passage"],"query":{"match":{"contents":{"query":"` + q + `"}}},"size":` + string(rune('0'+k)) + `,"track_total_hits":false}`
}

func seq(ps []corpus.Passage) func(func(corpus.Passage, error) bool) {
	return func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

var flavors = []Flavor{Elasticsearch, OpenSearch}

// TestLoadThenSearch loads three passages in two bulk requests, then
// searches and counts, checking every request and the hits.
func TestLoadThenSearch(t *testing.T) {
	settings := string(Settings(bm25.Params{K1: 1.2, B: 0.75}, bm25.AnalyzerConfig{Stem: true}))
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			r, cfg := newReplay(t, fl,
				exchange{method: "PUT", path: "/wiki", ctype: appJSON, body: settings, status: 200, file: "create_ok.json"},
				exchange{method: "POST", path: "/wiki/_bulk", ctype: ndjson, body: bulkDoc0 + bulkDoc1, status: 200, file: "bulk_ok_2.json"},
				exchange{method: "POST", path: "/wiki/_bulk", ctype: ndjson, body: bulkDoc2, status: 200, file: "bulk_ok_1.json"},
				exchange{method: "POST", path: "/wiki/_refresh", status: 200, file: "refresh_ok.json"},
				exchange{method: "POST", path: "/wiki/_search", ctype: appJSON, body: searchReq("evan morris", 2), status: 200, file: "search_evan.json"},
				exchange{method: "POST", path: "/wiki/_search", ctype: appJSON, body: searchReq("zzz", 2), status: 200, file: "search_empty.json"},
				exchange{method: "GET", path: "/wiki/_count", status: 200, file: "count_ok.json"},
			)
			var progress []int
			st, err := Load(context.Background(), cfg, seq(testPassages), LoadOptions{BM25: bm25.Params{K1: 1.2, B: 0.75},
				Analyzer: bm25.AnalyzerConfig{Stem: true}, BatchDocs: 2, Progress: func(n int) { progress = append(progress, n) }})
			if err != nil {
				t.Fatal(err)
			}
			if st.Passages != 3 || st.Requests != 2 || st.Retried != 0 || !cmp.Equal(progress, []int{2, 3}) {
				t.Errorf("stats %+v, progress %v", st, progress)
			}
			ret, err := NewRetriever(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ret.Search(context.Background(), []string{"evan morris", "zzz"}, 2)
			if err != nil {
				t.Fatal(err)
			}
			want := [][]search.Hit{{
				{Passage: testPassages[0], Score: 1.3862942, Rank: 0},
				{Passage: testPassages[2], Score: 0.2876821, Rank: 1},
			}, {}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("hits (-want +got):\n%s", d)
			}
			if n, err := ret.Count(context.Background()); err != nil || n != 3 {
				t.Errorf("Count = %d, %v; want 3", n, err)
			}
			r.done()
		})
	}
}

// TestRetriesOn429 checks that 429s are retried with back-off within the
// bound: a bulk item rejected with 429 is sent again alone, a search
// answered 429 twice succeeds on the third try, and one answered 429 every
// time fails after exactly MaxRetries retries with the cluster's reason.
func TestRetriesOn429(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			rejected := "bulk_429_item.json"
			if fl == OpenSearch {
				rejected = "bulk_429_item_os.json"
			}
			r, cfg := newReplay(t, fl,
				exchange{method: "PUT", path: "/wiki", status: 200, body: string(Settings(bm25.Params{}, bm25.AnalyzerConfig{})), file: "create_ok.json"},
				exchange{method: "POST", path: "/wiki/_bulk", body: bulkDoc0 + bulkDoc1, status: 200, file: rejected},
				exchange{method: "POST", path: "/wiki/_bulk", body: bulkDoc1, status: 200, file: "bulk_ok_1_id1.json"},
				exchange{method: "POST", path: "/wiki/_refresh", status: 200, file: "refresh_ok.json"},
				exchange{method: "POST", path: "/wiki/_search", body: searchReq("evan morris", 2), status: 429, file: "error_429.json"},
				exchange{method: "POST", path: "/wiki/_search", body: searchReq("evan morris", 2), status: 429, file: "error_429.json"},
				exchange{method: "POST", path: "/wiki/_search", body: searchReq("evan morris", 2), status: 200, file: "search_evan.json"},
			)
			var waits []int
			cfg.Backoff = func(a int) time.Duration { waits = append(waits, a); return time.Millisecond }
			st, err := Load(context.Background(), cfg, seq(testPassages[:2]), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.Passages != 2 || st.Requests != 2 || st.Retried != 1 {
				t.Errorf("stats %+v: want 2 passages, 2 requests, 1 retried", st)
			}
			ret, _ := NewRetriever(cfg)
			hits, err := ret.Search(context.Background(), []string{"evan morris"}, 2)
			if err != nil || len(hits[0]) != 2 {
				t.Fatalf("search after two 429s: %v, %v", hits, err)
			}
			if !cmp.Equal(waits, []int{1, 1, 2}) {
				t.Errorf("back-off attempts %v, want [1 1 2] (bulk item once, search twice)", waits)
			}
			r.done()

			var ex []exchange
			for range 4 {
				ex = append(ex, exchange{method: "POST", path: "/wiki/_search", body: searchReq("roche", 1), status: 429, file: "error_429.json"})
			}
			r, cfg = newReplay(t, fl, ex...)
			cfg.MaxRetries = 3
			ret, _ = NewRetriever(cfg)
			_, err = ret.Search(context.Background(), []string{"roche"}, 1)
			if err == nil || !strings.Contains(err.Error(), "status 429: es_rejected_execution_exception") || !strings.Contains(err.Error(), "after 3 retries") {
				t.Errorf("search answered 429 four times: %v, want the reason and the retries", err)
			}
			r.done()
		})
	}
}

// TestBadResponses checks that every kind of bad answer gives an error
// that says what happened, and that a load loses nothing silently.
func TestBadResponses(t *testing.T) {
	settings := string(Settings(bm25.Params{}, bm25.AnalyzerConfig{}))
	create := exchange{method: "PUT", path: "/wiki", body: settings, status: 200, file: "create_ok.json"}
	search1 := func(status int, file, raw string) exchange {
		return exchange{method: "POST", path: "/wiki/_search", body: searchReq("roche", 1), status: status, file: file, raw: raw}
	}
	bulk2 := func(status int, file, raw string) exchange {
		return exchange{method: "POST", path: "/wiki/_bulk", body: bulkDoc0 + bulkDoc1, status: status, file: file, raw: raw}
	}
	for _, tc := range []struct {
		name   string
		load   bool // else search "roche", k 1
		ex     []exchange
		want   []string // in the error
		loaded int      // passages confirmed before the error
	}{
		{"search malformed JSON", false, []exchange{search1(200, "", `{"took":5,"timed_out":false,"hits":{"hits":[{"_id":"1",`)}, []string{"malformed _search response"}, 0},
		{"search not an answer", false, []exchange{search1(200, "", `{"acknowledged":true}`)}, []string{"no hits or timed_out"}, 0},
		{"search too many hits", false, []exchange{search1(200, "search_evan.json", "")}, []string{"2 hits, more than the 1 asked for"}, 0},
		{"search timed out", false, []exchange{search1(200, "search_timed_out.json", "")}, []string{"timed out"}, 0},
		{"search shard failure", false, []exchange{search1(200, "search_shard_failure.json", "")}, []string{"failed on 1 of 1 shards", "query_shard_exception"}, 0},
		{"search 404", false, []exchange{search1(404, "error_index_not_found.json", "")}, []string{"status 404", "index_not_found_exception: no such index [wiki]"}, 0},
		{"search 500", false, []exchange{search1(500, "error_500.json", "")}, []string{"status 500", "null_pointer_exception"}, 0},
		{"search 502 from a proxy", false, []exchange{search1(502, "proxy_502.html", ""), search1(502, "proxy_502.html", "")}, []string{"status 502", "502 Bad Gateway", "after 1 retries"}, 0},
		{"index exists", true, []exchange{{method: "PUT", path: "/wiki", body: settings, status: 400, file: "create_exists.json"}}, []string{"resource_already_exists_exception", "delete it first"}, 0},
		{"bulk item refused", true, []exchange{create, bulk2(200, "bulk_item_error.json", "")}, []string{"1 of 2 documents were refused", "1 (status 400, document_parsing_exception"}, 0},
		{"bulk malformed", true, []exchange{create, bulk2(200, "", `{"errors":false,"took":3,"items":[{"index":{"_id":"0","status":201}}`)}, []string{"passages 0 … 1", "malformed _bulk response"}, 0},
		{"bulk items missing", true, []exchange{create, bulk2(200, "bulk_ok_1.json", "")}, []string{"1 items for 2 actions"}, 0},
		{"bulk 500", true, []exchange{create, bulk2(500, "error_500.json", "")}, []string{"status 500", "null_pointer_exception"}, 0},
		{"bulk 429 items forever", true, []exchange{create, bulk2(200, "bulk_429_item.json", ""),
			{method: "POST", path: "/wiki/_bulk", body: bulkDoc1, status: 200, raw: `{"errors":true,"took":1,"items":[{"index":{"_index":"wiki","_id":"1","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}}]}`}},
			[]string{"1 documents still rejected with 429 after 1 retries (first: 1)", "the 1 passages before this batch are indexed"}, 1},
	} {
		for _, fl := range flavors {
			t.Run(tc.name+"/"+string(fl), func(t *testing.T) {
				r, cfg := newReplay(t, fl, tc.ex...)
				cfg.MaxRetries = 1
				var err error
				if tc.load {
					var st LoadStats
					st, err = Load(context.Background(), cfg, seq(testPassages[:2]), LoadOptions{})
					if st.Passages != tc.loaded {
						t.Errorf("%d passages confirmed, want %d", st.Passages, tc.loaded)
					}
				} else {
					ret, _ := NewRetriever(cfg)
					_, err = ret.Search(context.Background(), []string{"roche"}, 1)
				}
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				r.done()
			})
		}
	}
}

// TestElasticsearchProductCheck: a 2xx answer without the
// X-Elastic-Product header (which real clusters send) is refused, as the
// official client's product check does.
func TestElasticsearchProductCheck(t *testing.T) {
	r, cfg := newReplay(t, Elasticsearch, exchange{method: "GET", path: "/wiki/_count", status: 200, file: "count_ok.json", noProduct: true})
	ret, _ := NewRetriever(cfg)
	if _, err := ret.Count(context.Background()); err == nil || !strings.Contains(err.Error(), "not Elasticsearch") {
		t.Errorf("answer without X-Elastic-Product: %v, want the client's product error", err)
	}
	r.done()
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec   string
		ok     bool
		want   Config
		errHas string
	}{
		{"/data/index", false, Config{}, ""},
		{"C:/index", false, Config{}, ""},
		{"es:http://localhost:9200/wiki", true, Config{Flavor: Elasticsearch, URL: "http://localhost:9200", Index: "wiki"}, ""},
		{"os:https://user:pw@search.example:9200/prefix/wiki-18/", true, Config{Flavor: OpenSearch, URL: "https://user:pw@search.example:9200/prefix", Index: "wiki-18"}, ""},
		{"es:http://localhost:9200", true, Config{}, "no index name"},
		{"es:http://localhost:9200/Wiki", true, Config{}, "lowercase"},
		{"es:localhost:9200/wiki", true, Config{}, "want es:http(s)://"},
		{"os:http://localhost:9200/_wiki", true, Config{}, "not starting"},
	} {
		cfg, ok, err := ParseSpec(tc.spec)
		if ok != tc.ok {
			t.Errorf("ParseSpec(%q) ok = %v", tc.spec, ok)
		}
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("ParseSpec(%q) error %v, want %q", tc.spec, err, tc.errHas)
			}
			continue
		}
		if err != nil || cfg.Flavor != tc.want.Flavor || cfg.URL != tc.want.URL || cfg.Index != tc.want.Index {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tc.spec, cfg, err, tc.want)
		}
	}
}

// TestSettingsInREADME keeps the index settings the README documents
// equal to those Load sends.
func TestSettingsInREADME(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skip("README.md not found:", err)
	}
	_, sec, ok := strings.Cut(string(b), "## Pointing sleuth at Elasticsearch or OpenSearch")
	_, block, ok2 := strings.Cut(sec, "```json\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no settings block under its Elasticsearch section")
	}
	var doc, want any
	if err := json.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("README settings: %v", err)
	}
	json.Unmarshal(Settings(bm25.Params{}, bm25.AnalyzerConfig{Stem: true, Stopwords: true}), &want)
	if d := cmp.Diff(want, doc); d != "" {
		t.Errorf("README settings differ from Settings (-sent +README):\n%s", d)
	}
}
