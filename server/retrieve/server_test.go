package retrieve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// goldenHits mirror HITS in testdata/golden.py, which wrote the golden
// bodies with Search-R1's (FastAPI's) JSON settings.
var goldenHits = fixedRetriever{
	{
		{Passage: corpus.Passage{ID: "1", Title: "Paris", Text: "Paris is the capital of France."}, Score: float64(float32(12.3456))},
		{Passage: corpus.Passage{ID: "wiki:2", Title: `Quote "inside" & <tags>`, Text: "Line1\nLine2\ttab \\ back\u00e9 \u4e2d\u6587 \u2028 \x01 \x7f \u00a0"}, Score: 1e-05},
		{Passage: corpus.Passage{ID: "3", Title: "", Text: "no title"}, Score: 2.0},
	},
	{
		{Passage: corpus.Passage{ID: "4", Title: "Big", Text: "x"}, Score: 1e16},
		{Passage: corpus.Passage{ID: "5", Title: "Neg", Text: "y"}, Score: -0.0001},
		{Passage: corpus.Passage{ID: "6", Title: "Zero", Text: "z"}, Score: 0},
		{Passage: corpus.Passage{ID: "7", Title: "Cut", Text: "beyond topk"}, Score: -1},
	},
	{},
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, method, url, body string) response {
	t.Helper()
	r, err := send(c, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is do for goroutines other than the test's.
func send(c *http.Client, method, url, body string) (response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading body: %w", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, b}, nil
}

func TestRetrieveGolden(t *testing.T) {
	t.Parallel()
	base := startServer(t, retrieve.New(goldenHits, retrieve.Config{}))
	c := testClient(t)
	tests := []struct {
		name, body, golden string
	}{
		{"scores", `{"queries":["a","b","c"],"topk":3,"return_scores":true}`, "testdata/golden_scores.json"},
		{"no scores", `{"queries":["a","b","c"],"topk":3}`, "testdata/golden_noscores.json"},
		{"default topk 3", `{"queries":["a","b","c"],"return_scores":false}`, "testdata/golden_noscores.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatal(err)
			}
			got := do(t, c, http.MethodPost, base+"/retrieve", tc.body)
			if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q, want 200 application/json; body %s", got.status, got.header.Get("Content-Type"), got.body)
			}
			if diff := cmp.Diff(string(want), string(got.body)); diff != "" {
				t.Errorf("body differs from Search-R1's bytes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRetrieveShapes checks the decoded shapes against the fake index: the
// hits, their order and scores, per query, with and without scores.
func TestRetrieveShapes(t *testing.T) {
	t.Parallel()
	fr := newFakeRetriever()
	base := startServer(t, retrieve.New(fr, retrieve.Config{}))
	c := testClient(t)
	queries := []string{"capital of France", "python language", "nothing matches xyzzy"}
	want, _ := fr.Search(context.Background(), queries, 2)

	body, _ := json.Marshal(map[string]any{"queries": queries, "topk": 2, "return_scores": true})
	got := do(t, c, http.MethodPost, base+"/retrieve", string(body))
	var scored struct {
		Result [][]struct {
			Document struct{ ID, Contents string }
			Score    float64
		}
	}
	if err := json.Unmarshal(got.body, &scored); err != nil || got.status != 200 {
		t.Fatalf("status %d, body %s: %v", got.status, got.body, err)
	}
	body, _ = json.Marshal(map[string]any{"queries": queries, "topk": 2})
	got = do(t, c, http.MethodPost, base+"/retrieve", string(body))
	var plain struct {
		Result [][]struct{ ID, Contents string }
	}
	if err := json.Unmarshal(got.body, &plain); err != nil || got.status != 200 {
		t.Fatalf("status %d, body %s: %v", got.status, got.body, err)
	}
	type doc struct {
		ID, Contents string
		Score        float64
	}
	var wantDocs, gotScored, gotPlain [][]doc
	for qi := range queries {
		wantDocs = append(wantDocs, []doc{})
		gotScored = append(gotScored, []doc{})
		gotPlain = append(gotPlain, []doc{})
		for _, h := range want[qi] {
			wantDocs[qi] = append(wantDocs[qi], doc{h.Passage.ID, h.Passage.Contents(), h.Score})
		}
		for _, h := range scored.Result[qi] {
			gotScored[qi] = append(gotScored[qi], doc{h.Document.ID, h.Document.Contents, h.Score})
		}
		for i, h := range plain.Result[qi] {
			gotPlain[qi] = append(gotPlain[qi], doc{h.ID, h.Contents, want[qi][i].Score})
		}
	}
	if diff := cmp.Diff(wantDocs, gotScored); diff != "" {
		t.Errorf("return_scores=true (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDocs, gotPlain); diff != "" {
		t.Errorf("return_scores=false (-want +got):\n%s", diff)
	}
}

type errorBody struct {
	Error struct{ Message, Type string }
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	lockedLogs := &syncWriter{w: &logs}
	srv := retrieve.New(newFakeRetriever(), retrieve.Config{
		MaxTopK: 10, MaxQueries: 4, MaxBodyBytes: 1024, Timeout: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lockedLogs, nil)),
	})
	base := startServer(t, srv)
	c := testClient(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantType                 string
	}{
		{"malformed JSON", "POST", "/retrieve", `{"queries":`, 400, "invalid_json"},
		{"not an object", "POST", "/retrieve", `[1,2]`, 400, "invalid_request"},
		{"missing queries", "POST", "/retrieve", `{"topk":3}`, 400, "invalid_request"},
		{"non-string query", "POST", "/retrieve", `{"queries":["a",{"b":1}]}`, 400, "invalid_request"},
		{"empty query list", "POST", "/retrieve", `{"queries":[]}`, 400, "invalid_request"},
		{"topk zero", "POST", "/retrieve", `{"queries":["a"],"topk":0}`, 400, "invalid_request"},
		{"topk negative", "POST", "/retrieve", `{"queries":["a"],"topk":-1}`, 400, "invalid_request"},
		{"topk over max", "POST", "/retrieve", `{"queries":["a"],"topk":11}`, 400, "invalid_request"},
		{"too many queries", "POST", "/retrieve", `{"queries":["a","b","c","d","e"]}`, 413, "request_too_large"},
		{"body too large", "POST", "/retrieve", `{"queries":["` + strings.Repeat("x", 2000) + `"]}`, 413, "request_too_large"},
		{"GET retrieve", "GET", "/retrieve", "", 405, "method_not_allowed"},
		{"PUT retrieve", "PUT", "/retrieve", `{"queries":["a"]}`, 405, "method_not_allowed"},
		{"POST healthz", "POST", "/healthz", `{}`, 405, "method_not_allowed"},
		{"unknown path", "GET", "/nope", "", 404, "not_found"},
		{"trailing slash", "POST", "/retrieve/", `{"queries":["a"]}`, 404, "not_found"},
		{"retriever error", "POST", "/retrieve", `{"queries":["a","__fail__"]}`, 500, "retriever_error"},
		{"retriever short", "POST", "/retrieve", `{"queries":["a","__short__"]}`, 500, "retriever_error"},
		{"retriever panic", "POST", "/retrieve", `{"queries":["__panic__"]}`, 500, "internal_error"},
		{"retriever timeout", "POST", "/retrieve", `{"queries":["__slow__"]}`, 504, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, c, tc.method, base+tc.path, tc.body)
			var eb errorBody
			if err := json.Unmarshal(got.body, &eb); err != nil {
				t.Fatalf("error body %q is not JSON: %v", got.body, err)
			}
			if got.status != tc.wantStatus || eb.Error.Type != tc.wantType || eb.Error.Message == "" {
				t.Errorf("got %d %+v, want %d type %q with a message", got.status, eb, tc.wantStatus, tc.wantType)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tc.wantStatus == 405 && got.header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			// The server must still answer a good request.
			ok := do(t, c, "POST", base+"/retrieve", `{"queries":["capital of France"],"topk":1}`)
			if want := `{"result":[[{"id":"p1","contents":"\"Paris\"\nParis is the capital and largest city of France."}]]}`; ok.status != 200 || string(ok.body) != want {
				t.Errorf("good request after %s: %d %s, want 200 %s", tc.name, ok.status, ok.body, want)
			}
		})
	}
	if !strings.Contains(lockedLogs.String(), "fake retriever panic") || !strings.Contains(lockedLogs.String(), "goroutine") {
		t.Errorf("panic not logged with its stack; logs:\n%s", lockedLogs.String())
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	srv := retrieve.New(newFakeRetriever(), retrieve.Config{Index: retrieve.IndexInfo{Backend: "bm25", Path: "/idx", Documents: 6}})
	base := startServer(t, srv)
	got := do(t, testClient(t), "GET", base+"/healthz", "")
	var h struct {
		Status      string
		Index       retrieve.IndexInfo
		DefaultTopK int `json:"default_topk"`
		MaxTopK     int `json:"max_topk"`
		MaxQueries  int `json:"max_queries"`
	}
	if err := json.Unmarshal(got.body, &h); err != nil || got.status != 200 {
		t.Fatalf("healthz: %d %s %v", got.status, got.body, err)
	}
	want := struct {
		Status      string
		Index       retrieve.IndexInfo
		DefaultTopK int `json:"default_topk"`
		MaxTopK     int `json:"max_topk"`
		MaxQueries  int `json:"max_queries"`
	}{"ok", retrieve.IndexInfo{Backend: "bm25", Documents: 6}, 3, 100, 512}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("healthz (-want +got):\n%s", diff)
	}
	if strings.Contains(string(got.body), "/idx") {
		t.Errorf("healthz shows the index path: %s", got.body)
	}
}

// TestGracefulShutdown checks a request in flight when the context ends
// still gets its answer, and Serve then returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	r := gatedRetriever{gate: gate, entered: make(chan struct{}, 1), next: newFakeRetriever()}
	srv := retrieve.New(r, retrieve.Config{})
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	got := make(chan response, 1)
	c := testClient(t)
	go func() {
		r, err := send(c, "POST", "http://"+ln.Addr().String()+"/retrieve", `{"queries":["Berlin"],"topk":1}`)
		if err != nil {
			r.body = []byte(err.Error())
		}
		got <- r
	}()
	r.waitEntered(t)
	cancel()
	time.Sleep(50 * time.Millisecond) // let Shutdown start closing listeners
	close(gate)
	if resp := <-got; resp.status != 200 || !strings.Contains(string(resp.body), `"p3"`) {
		t.Errorf("in-flight request: %d %s, want 200 with p3", resp.status, resp.body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v, want nil", err)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	t.Parallel()
	err := retrieve.New(newFakeRetriever(), retrieve.Config{}).ListenAndServe(context.Background(), "127.0.0.1:notaport")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:notaport") {
		t.Errorf("ListenAndServe on a bad address: %v, want an error naming it", err)
	}
}

// gatedRetriever signals when a search starts and holds it until gate closes.
type gatedRetriever struct {
	gate    chan struct{}
	entered chan struct{}
	next    search.Retriever
}

func (g gatedRetriever) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("search never started")
	}
}

func (g gatedRetriever) Search(ctx context.Context, q []string, k int) ([][]search.Hit, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.next.Search(ctx, q, k)
}

// TestClientGoneAway checks a client that hangs up mid-search cancels the
// search (through the request context) and is counted as 499.
func TestClientGoneAway(t *testing.T) {
	t.Parallel()
	base := startServer(t, retrieve.New(newFakeRetriever(), retrieve.Config{Timeout: -1}))
	c := testClient(t)
	c.Timeout = 100 * time.Millisecond
	if _, err := send(c, "POST", base+"/retrieve", `{"queries":["__slow__"]}`); err == nil {
		t.Fatal("slow search answered, want a client timeout")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m := scrape(t, base)
		if m[`sleuth_retrieve_requests_total{code="499",path="/retrieve"}`] == 1 && m["sleuth_retrieve_in_flight_requests"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 499 recorded with nothing in flight; metrics %v", m)
		}
	}
}

// TestListenAndServe checks the bound address is logged and served, and that
// cancelling the context stops the server cleanly.
func TestListenAndServe(t *testing.T) {
	t.Parallel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	srv := retrieve.New(newFakeRetriever(), retrieve.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0") }()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if _, rest, ok := strings.Cut(logs.String(), " addr="); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
		if time.Now().After(deadline) {
			t.Fatalf("bound address never logged; logs:\n%s", logs.String())
		}
	}
	c := testClient(t)
	if got := do(t, c, "GET", "http://"+addr+"/healthz", ""); got.status != 200 {
		t.Errorf("healthz on the logged address: %d %s", got.status, got.body)
	}
	c.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after cancel: %v, want nil", err)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("shutdown not logged; logs:\n%s", logs.String())
	}
}
