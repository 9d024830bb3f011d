package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/sleuth-research/sleuth/search"
)

// Retriever searches one Elasticsearch or OpenSearch index that Load
// filled: a match query on the contents field, the stored passages read
// back from _source. It is safe for concurrent use.
type Retriever struct {
	c *client
}

// NewRetriever returns a retriever for cfg's index. It sends nothing.
func NewRetriever(cfg Config) (*Retriever, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Retriever{c: c}, nil
}

// searchBody is the _search request for one query.
func searchBody(query string, k int) []byte {
	b, _ := json.Marshal(map[string]any{
		"size":             k,
		"query":            map[string]any{"match": map[string]any{fieldContents: map[string]any{"query": query}}},
		"_source":          []string{fieldPassage},
		"track_total_hits": false,
	})
	return b
}

// Search implements search.Retriever: one _search per query, up to
// Config.Concurrency at a time. An error for any query fails the batch.
func (r *Retriever) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	if k <= 0 || len(queries) == 0 {
		return out, ctx.Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	path := "/" + url.PathEscape(r.c.cfg.Index) + "/_search"
	workers := r.c.cfg.Concurrency
	if workers <= 0 {
		workers = 8
	}
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range min(workers, len(queries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body, err := r.c.do(ctx, http.MethodPost, path, searchBody(queries[i], k), "application/json")
				if err == nil {
					out[i], err = parseSearch(body, k)
					if err != nil {
						err = fmt.Errorf("%s index %s, query %q: %w", r.c.cfg.Flavor, r.c.cfg.Index, queries[i], err)
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range queries {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

// Count returns the number of documents in the index (GET _count).
func (r *Retriever) Count(ctx context.Context) (int64, error) {
	body, err := r.c.do(ctx, http.MethodGet, "/"+url.PathEscape(r.c.cfg.Index)+"/_count", nil, "")
	if err != nil {
		return 0, err
	}
	return parseCount(body)
}

var _ search.Retriever = (*Retriever)(nil)
