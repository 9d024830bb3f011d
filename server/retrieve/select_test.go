package retrieve_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// TestRetrieverSelection picks a named retriever per request, in the same
// Search-R1 response shape.
func TestRetrieverSelection(t *testing.T) {
	t.Parallel()
	other := fixedRetriever{{{Passage: corpus.Passage{ID: "d1", Title: "Dense", Text: "from the dense index"}, Score: 0.5}}}
	h, err := search.NewHybrid(newFakeRetriever(), other, search.HybridConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(retrieve.New(newFakeRetriever(), retrieve.Config{
		Retrievers: map[string]search.Retriever{"bm25": newFakeRetriever(), "dense": other, "hybrid": h},
	}))
	defer srv.Close()
	url := srv.URL + "/retrieve"
	for _, tc := range []struct {
		body, want string
		status     int
	}{
		{`{"queries":["capital of France"],"topk":1}`, `{"result":[[{"id":"p1","contents":"\"Paris\"\nParis is the capital and largest city of France."}]]}`, 200},
		{`{"queries":["capital of France"],"topk":1,"retriever":"dense","return_scores":true}`, `{"result":[[{"document":{"id":"d1","contents":"\"Dense\"\nfrom the dense index"},"score":0.5}]]}`, 200},
		{`{"queries":["capital of France"],"topk":2,"retriever":"hybrid"}`, `{"result":[[{"id":"p1","contents":"\"Paris\"\nParis is the capital and largest city of France."},{"id":"d1","contents":"\"Dense\"\nfrom the dense index"}]]}`, 200},
		{`{"queries":["x"],"retriever":"sparse"}`, `unknown \"retriever\" \"sparse\"; this server has bm25, dense, hybrid`, 400},
		{`{"queries":["x"],"retriever":3}`, `\"retriever\" must be a non-empty string`, 400},
		{`{"queries":["x"],"retriever":null}`, `{"result":[[]]}`, 200},
	} {
		r := do(t, http.DefaultClient, http.MethodPost, url, tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	r := do(t, http.DefaultClient, http.MethodGet, srv.URL+"/healthz", "")
	if !strings.Contains(string(r.body), `"retrievers":["bm25","dense","hybrid"]`) {
		t.Errorf("healthz %s does not list the retrievers", r.body)
	}
}
