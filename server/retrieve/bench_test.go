package retrieve_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// BenchmarkServeHTTP measures the server's own cost per request (decode,
// validate, encode) for 32 queries × 10 hits of 100-word passages, with a
// retriever that costs nothing, through httptest.ResponseRecorder.
func BenchmarkServeHTTP(b *testing.B) {
	const nq, k = 32, 10
	text := strings.Repeat("lorem ipsum dolor sit amet ", 20)
	lists := make(fixedRetriever, nq)
	queries := make([]string, nq)
	for q := range lists {
		queries[q] = fmt.Sprintf("%q", fmt.Sprintf("question number %d about something", q))
		for i := range k {
			lists[q] = append(lists[q], search.Hit{Passage: corpus.Passage{ID: fmt.Sprint(q*k + i), Title: "Title", Text: text}, Score: 10.123456789 - float64(i), Rank: i})
		}
	}
	body := `{"queries":[` + strings.Join(queries, ",") + `],"topk":10,"return_scores":true}`
	srv := retrieve.New(lists, retrieve.Config{})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/retrieve", strings.NewReader(body)))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
