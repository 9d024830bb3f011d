package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRetrieveElasticsearch serves /retrieve from --index
// es:URL/INDEX, against a loopback cluster answering with the recorded
// bodies of search/elastic's replay tests.
func TestServeRetrieveElasticsearch(t *testing.T) {
	t.Parallel()
	testdata := filepath.Join("..", "..", "search", "elastic", "testdata")
	cluster := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		file := ""
		switch {
		case r.Method == "GET" && r.URL.Path == "/wiki/_count":
			file = "count_ok.json"
		case r.Method == "POST" && r.URL.Path == "/wiki/_search" && strings.Contains(string(body), `"query":"evan morris"`) && strings.Contains(string(body), `"size":2`):
			file = "search_evan.json"
		default:
			t.Errorf("unexpected request %s %s %s", r.Method, r.URL, body)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		b, err := os.ReadFile(filepath.Join(testdata, file))
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Write(b)
	}))
	defer cluster.Close()
	h, closeFn, err := buildServeHandler(serveFlags{index: "es:" + cluster.URL + "/wiki", topk: 3, maxTopK: 20, maxQueries: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	got, b := retrieveScored(t, srv.URL, `{"queries":["evan morris"],"topk":2,"return_scores":true}`)
	if len(got.Result) != 1 || len(got.Result[0]) != 2 || got.Result[0][0].Document.ID != "0" || got.Result[0][0].Score != 1.3862942 ||
		!strings.HasPrefix(got.Result[0][0].Document.Contents, `"Evan Morris"`) || got.Result[0][1].Document.ID != "2" {
		t.Fatalf("result = %s", b)
	}
}
