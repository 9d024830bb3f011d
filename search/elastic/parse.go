package elastic

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// Error is a request the cluster answered with a status other than 2xx.
type Error struct {
	Flavor Flavor
	Op     string // method and path
	Status int
	// Type and Reason are the error body's error.type and error.reason
	// (empty when the body was not the products' error JSON; Body then
	// holds its start).
	Type, Reason string
	Body         string
	// Retries is how many times the request was retried before giving up
	// (for 429, 502, 503 and 504).
	Retries int
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: status %d", e.Flavor, e.Op, e.Status)
	if e.Type != "" {
		fmt.Fprintf(&b, ": %s: %s", e.Type, e.Reason)
	} else if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	if e.Retries > 0 {
		fmt.Fprintf(&b, " (still after %d retries with back-off)", e.Retries)
	}
	return b.String()
}

// errorBody is the products' error JSON: {"error": {"root_cause": [...],
// "type": ..., "reason": ...}, "status": N}; very old versions and some
// proxies put a string in "error".
type errorBody struct {
	Error  json.RawMessage `json:"error"`
	Status int             `json:"status"`
}

type errorDetail struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// parseError reads the error of a non-2xx answer; it never fails.
func parseError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && len(eb.Error) > 0 {
		var d errorDetail
		var s string
		switch {
		case json.Unmarshal(eb.Error, &d) == nil && d.Type != "":
			e.Type, e.Reason = d.Type, d.Reason
			return e
		case json.Unmarshal(eb.Error, &s) == nil && s != "":
			e.Type, e.Reason = "error", s
			return e
		}
	}
	e.Body = string(body[:min(len(body), 200)])
	return e
}

// searchResponse is the part of a _search answer read here.
type searchResponse struct {
	TimedOut *bool `json:"timed_out"`
	Shards   struct {
		Total    int `json:"total"`
		Failed   int `json:"failed"`
		Failures []struct {
			Reason errorDetail `json:"reason"`
		} `json:"failures"`
	} `json:"_shards"`
	Hits *struct {
		Hits []struct {
			ID     *string  `json:"_id"`
			Score  *float64 `json:"_score"`
			Source struct {
				Passage *storedPassage `json:"passage"`
			} `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

// storedPassage is a passage as the loader stores it in _source.
type storedPassage struct {
	Title string            `json:"title"`
	Text  string            `json:"text"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// parseSearch reads a _search answer into at most k hits. A timed-out
// search or one with failed shards is an error, not a short list.
func parseSearch(body []byte, k int) ([]search.Hit, error) {
	var r searchResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("malformed _search response: %w", err)
	}
	switch {
	case r.Hits == nil || r.TimedOut == nil:
		return nil, errors.New("malformed _search response: no hits or timed_out")
	case *r.TimedOut:
		return nil, errors.New("_search timed out: the hits would be partial")
	case r.Shards.Failed > 0:
		reason := ""
		if len(r.Shards.Failures) > 0 {
			reason = ": " + r.Shards.Failures[0].Reason.Type + ": " + r.Shards.Failures[0].Reason.Reason
		}
		return nil, fmt.Errorf("_search failed on %d of %d shards%s", r.Shards.Failed, r.Shards.Total, reason)
	case len(r.Hits.Hits) > k:
		return nil, fmt.Errorf("_search returned %d hits, more than the %d asked for", len(r.Hits.Hits), k)
	}
	hits := make([]search.Hit, len(r.Hits.Hits))
	for i, h := range r.Hits.Hits {
		switch {
		case h.ID == nil:
			return nil, fmt.Errorf("_search hit %d has no _id", i)
		case h.Score == nil || math.IsNaN(*h.Score):
			return nil, fmt.Errorf("_search hit %d (%s) has no _score", i, *h.ID)
		case h.Source.Passage == nil:
			return nil, fmt.Errorf("_search hit %d (%s) has no _source.passage: was the index loaded by sleuth index --to?", i, *h.ID)
		case i > 0 && *h.Score > hits[i-1].Score:
			return nil, fmt.Errorf("_search hits out of order at %d (%s)", i, *h.ID)
		}
		p := h.Source.Passage
		hits[i] = search.Hit{Passage: corpus.Passage{ID: *h.ID, Title: p.Title, Text: p.Text, Meta: p.Meta},
			Score: *h.Score, Rank: i}
	}
	return hits, nil
}

// bulkItem is one action's result in a _bulk answer.
type bulkItem struct {
	ID     string       `json:"_id"`
	Status int          `json:"status"`
	Error  *errorDetail `json:"error"`
}

// parseBulk reads a _bulk answer to n index actions: the result of each,
// in request order.
func parseBulk(body []byte, n int) ([]bulkItem, error) {
	var r struct {
		Errors *bool                 `json:"errors"`
		Items  []map[string]bulkItem `json:"items"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("malformed _bulk response: %w", err)
	}
	if r.Errors == nil || len(r.Items) != n {
		return nil, fmt.Errorf("malformed _bulk response: %d items for %d actions", len(r.Items), n)
	}
	out := make([]bulkItem, n)
	for i, m := range r.Items {
		it, ok := m["index"]
		if !ok || len(m) != 1 || it.Status == 0 {
			return nil, fmt.Errorf("malformed _bulk response: item %d is not the result of an index action", i)
		}
		out[i] = it
	}
	return out, nil
}

// parseCount reads a _count answer.
func parseCount(body []byte) (int64, error) {
	var r struct {
		Count *int64 `json:"count"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Count == nil || *r.Count < 0 {
		return 0, fmt.Errorf("malformed _count response %.200q", body)
	}
	return *r.Count, nil
}
