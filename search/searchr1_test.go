package search

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

func r1Hit(id, title, text string, score float64, rank int) Hit {
	return Hit{Passage: corpus.Passage{ID: id, Title: title, Text: text}, Score: score, Rank: rank}
}

func TestParseSearchR1Response(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		n, k    int
		want    [][]Hit
		wantErr string
	}{
		{name: "scored", n: 2, k: 3,
			body: `{"result":[[{"document":{"id":"1","contents":"\"Paris\"\nCapital of France."},"score":12.5},{"document":{"id":"2","contents":"untitled"},"score":1e-05}],[]]}`,
			want: [][]Hit{{r1Hit("1", "Paris", "Capital of France.", 12.5, 0), r1Hit("2", "", "untitled", 1e-05, 1)}, {}}},
		{name: "plain documents", n: 1, k: 3,
			body: `{"result":[[{"id":"7","contents":"\"T\"\nx"}]]}`,
			want: [][]Hit{{r1Hit("7", "T", "x", 0, 0)}}},
		{name: "search-r1 bm25 title/text without id", n: 1, k: 3,
			body: `{"result":[[{"document":{"title":"T","text":"a\nb","contents":"\"T\"\na\nb"},"score":3.25}]]}`,
			want: [][]Hit{{r1Hit("", "T", "a\nb", 3.25, 0)}}},
		{name: "numeric id and string score", n: 1, k: 3,
			body: `{"result":[[{"document":{"id":42,"contents":"c"},"score":"0.5"}]]}`,
			want: [][]Hit{{r1Hit("42", "", "c", 0.5, 0)}}},
		{name: "cut to k", n: 1, k: 1,
			body: `{"result":[[{"id":"a","contents":"x"},{"id":"b","contents":"y"}]]}`,
			want: [][]Hit{{r1Hit("a", "", "x", 0, 0)}}},
		{name: "not JSON", n: 1, k: 1, body: `<html>`, wantErr: "decoding response"},
		{name: "no result", n: 1, k: 1, body: `{"detail":"x"}`, wantErr: `no "result"`},
		{name: "wrong list count", n: 2, k: 1, body: `{"result":[[]]}`, wantErr: "1 result lists for 2 queries"},
		{name: "list not array", n: 1, k: 1, body: `{"result":[{}]}`, wantErr: "result 0"},
		{name: "no contents", n: 1, k: 1, body: `{"result":[[{"document":{"id":"1"},"score":1}]]}`, wantErr: "result 0 hit 0"},
		{name: "bad score", n: 1, k: 1, body: `{"result":[[{"document":{"id":"1","contents":"c"},"score":"high"}]]}`, wantErr: "score"},
		{name: "object id", n: 1, k: 1, body: `{"result":[[{"id":{},"contents":"c"}]]}`, wantErr: "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSearchR1Response([]byte(tc.body), tc.n, tc.k)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseSearchR1Response(f *testing.F) {
	for _, s := range []string{
		`{"result":[[{"document":{"id":"1","contents":"\"Paris\"\nCapital."},"score":12.5}],[]]}`,
		`{"result":[[{"id":7,"contents":"x"}]]}`,
		`{"result":[[{"document":{"title":"T","text":"a"},"score":"1"}]]}`,
		`{"result":null}`, `[]`, ``, `{"result":[[null]]}`,
	} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, raw []byte, k int) {
		k = 1 + r1Abs(k%20)
		hits, err := ParseSearchR1Response(raw, 1, k)
		if err != nil {
			return
		}
		if len(hits) != 1 || len(hits[0]) > k {
			t.Fatalf("accepted %q as %d lists, first of %d hits (k %d)", raw, len(hits), len(hits[0]), k)
		}
		for i, h := range hits[0] {
			if h.Rank != i {
				t.Fatalf("hit %d has rank %d", i, h.Rank)
			}
		}
	})
}

func r1Abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// scripted answers each POST with the next status from codes (the last one
// repeating), echoing the queries as one-hit lists when the status is 200.
func r1Scripted(t *testing.T, codes ...int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		code := codes[min(n, len(codes)-1)]
		if r.URL.Path != "/retrieve" || r.Method != http.MethodPost {
			http.Error(w, "wrong endpoint", http.StatusNotFound)
			return
		}
		if code != http.StatusOK {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"message":"scripted %d","type":"x"}}`, code)
			return
		}
		var req struct {
			Queries      []string `json:"queries"`
			TopK         int      `json:"topk"`
			ReturnScores bool     `json:"return_scores"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.TopK < 1 || !req.ReturnScores {
			t.Errorf("bad request %+v: %v", req, err)
		}
		var lists []string
		for _, q := range req.Queries {
			id, _ := json.Marshal(q)
			lists = append(lists, fmt.Sprintf(`[{"document":{"id":%s,"contents":"\"T\"\nx"},"score":1.5}]`, id))
		}
		fmt.Fprintf(w, `{"result":[%s]}`, strings.Join(lists, ","))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func r1FastRetries() SearchR1Option { return SearchR1Retries(3, time.Millisecond, 4*time.Millisecond) }

func TestSearchR1ClientRetries(t *testing.T) {
	tests := []struct {
		name      string
		codes     []int
		wantCalls int64
		wantErr   string
	}{
		{"ok first time", []int{200}, 1, ""},
		{"503 twice then ok", []int{503, 503, 200}, 3, ""},
		{"429 then ok", []int{429, 200}, 2, ""},
		{"always 500", []int{500}, 4, "after 4 attempts: status 500: scripted 500"},
		{"400 not retried", []int{400, 200}, 1, "status 400: scripted 400"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := r1Scripted(t, tc.codes...)
			c, err := NewSearchR1Client(srv.URL, r1FastRetries())
			if err != nil {
				t.Fatal(err)
			}
			hits, err := c.Search(context.Background(), []string{"q1", "q2"}, 3)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := [][]Hit{{r1Hit("q1", "T", "x", 1.5, 0)}, {r1Hit("q2", "T", "x", 1.5, 0)}}
				if diff := cmp.Diff(want, hits); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error %v, want one naming the URL and containing %q", err, tc.wantErr)
			}
			if calls.Load() != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

func TestSearchR1ClientConnectionError(t *testing.T) {
	srv, _ := r1Scripted(t, 200)
	url := srv.URL
	srv.Close() // nothing listens there now
	c, err := NewSearchR1Client(url, r1FastRetries())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Search(context.Background(), []string{"q"}, 1)
	if err == nil || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error %v, want a connection error after 4 attempts", err)
	}
}

func TestSearchR1ClientCancel(t *testing.T) {
	srv, calls := r1Scripted(t, 503)
	c, err := NewSearchR1Client(srv.URL, SearchR1Retries(5, time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Search(ctx, []string{"q"}, 1)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second || calls.Load() != 1 {
		t.Errorf("got %v after %v and %d calls, want the context's deadline promptly after 1 call", err, time.Since(start), calls.Load())
	}
}

func TestSearchR1ClientBatches(t *testing.T) {
	srv, calls := r1Scripted(t, 200)
	c, err := NewSearchR1Client(srv.URL+"/", SearchR1MaxBatch(2))
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{"a", "b", "c", "d", "e"}
	hits, err := c.Search(context.Background(), qs, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range hits {
		ids = append(ids, l[0].Passage.ID)
	}
	if diff := cmp.Diff(qs, ids); diff != "" || calls.Load() != 3 {
		t.Errorf("%d calls (want 3); ids (-want +got):\n%s", calls.Load(), diff)
	}
	if empty, err := c.Search(context.Background(), nil, 2); err != nil || len(empty) != 0 {
		t.Errorf("no queries: %v, %v; want no lists and no error", empty, err)
	}
}

func TestNewSearchR1Client(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000/retrieve", ""},
		{"http://127.0.0.1:8000/", "http://127.0.0.1:8000/retrieve", ""},
		{"http://h/api/retrieve", "http://h/api/retrieve", ""},
		{"https://h/prefix", "https://h/prefix/retrieve", ""},
		{"127.0.0.1:8000", "", `base URL "127.0.0.1:8000"`},
		{"localhost:8000", "", "want http(s)://host"},
		{"ftp://h", "", "want http(s)://host"},
		{"http://[::1", "", "base URL"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c, err := NewSearchR1Client(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.URL() != tc.want {
				t.Fatalf("got %v %v, want %s", c, err, tc.want)
			}
		})
	}
	if _, err := (&SearchR1Client{}).Search(context.Background(), []string{"q"}, 0); err == nil {
		t.Error("k=0: no error")
	}
}

// TestParseWiki18 checks, on real Search-R1 corpus rows, that passages
// parsed from a response rebuild each row's contents byte for byte, so they
// survive a trip through a Search-R1 server unchanged.
func TestParseWiki18(t *testing.T) {
	path := shareddata.Path(t, "corpus/wiki18_sample_1000.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	type row struct {
		ID       string `json:"id"`
		Contents string `json:"contents"`
	}
	var rows []row
	var items []string
	for line := 1; sc.Scan(); line++ {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		rows = append(rows, r)
		doc, _ := json.Marshal(r)
		items = append(items, fmt.Sprintf(`{"document":%s,"score":%d.5}`, doc, line))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	body := `{"result":[[` + strings.Join(items, ",") + `]]}`
	hits, err := ParseSearchR1Response([]byte(body), 1, len(rows))
	if err != nil {
		t.Fatal(err)
	}
	if len(hits[0]) != len(rows) || len(rows) != 1000 {
		t.Fatalf("%d hits from %d rows, want 1000", len(hits[0]), len(rows))
	}
	for i, h := range hits[0] {
		if h.Passage.ID != rows[i].ID || h.Passage.Contents() != rows[i].Contents || h.Score != float64(i+1)+0.5 {
			t.Errorf("%s:%d: parsed %+v, want id %q contents %q", path, i+1, h, rows[i].ID, rows[i].Contents)
		}
	}
}
