package retrieve_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// TestSearchR1ClientRoundTrip checks search.SearchR1Client against this
// server returns exactly what the retriever behind it returns.
func TestSearchR1ClientRoundTrip(t *testing.T) {
	t.Parallel()
	fr := newFakeRetriever()
	base := startServer(t, retrieve.New(fr, retrieve.Config{MaxTopK: 5, MaxQueries: 3}))
	c, err := search.NewSearchR1Client(base, search.SearchR1MaxBatch(3), search.SearchR1Retries(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		queries []string
		k       int
	}{
		{"one query", []string{"capital of France"}, 3},
		{"titles and quotes", []string{"python language", "neural networks passage", "Zürich capital"}, 5},
		{"split into batches", []string{"Paris", "Berlin", "France", "Germany", "city", "xyzzy", "the"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := fr.Search(context.Background(), tc.queries, tc.k)
			got, err := c.Search(context.Background(), tc.queries, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("client hits differ from the retriever's (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("4xx is not retried and names the cause", func(t *testing.T) {
		_, err := c.Search(context.Background(), []string{"a"}, 6)
		if err == nil || !strings.Contains(err.Error(), "status 400") || !strings.Contains(err.Error(), "between 1 and 5") || strings.Contains(err.Error(), "attempts") {
			t.Errorf("error %v, want a single 400 naming the topk limit", err)
		}
	})
	t.Run("5xx is retried", func(t *testing.T) {
		_, err := c.Search(context.Background(), []string{"__fail__"}, 1)
		if err == nil || !strings.Contains(err.Error(), "after 2 attempts: status 500") {
			t.Errorf("error %v, want a 500 after 2 attempts", err)
		}
	})
}
