package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSearchQuery feeds arbitrary query strings to /search: every answer
// must be 200 or a 4xx, and a JSON request must get valid JSON back.
func FuzzSearchQuery(f *testing.F) {
	for _, seed := range []string{
		"q=capital+of+Varnel&format=json",
		"q=founder&format=json&pageno=2",
		"q=x&pageno=1000&format=json",
		"format=json",
		"q=%zz&format=json",
		"q=a&q=b&format=json&format=html",
		"q=%00%ff&format=json",
		"q=" + strings.Repeat("ab+", 800) + "&format=json",
		"q=x&format=csv",
		"q=x&pageno=-1",
		"q=x;format=json",
		"q=\u200bzero&format=json&categories=general&language=en",
	} {
		f.Add(seed)
	}
	s, err := New(testWorld(f, 31), Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, raw string) {
		req := (&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/search", RawQuery: raw},
			Header: http.Header{}, Host: "web.test"}).WithContext(context.Background())
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		code := rec.Code
		if code != http.StatusOK && (code < 400 || code > 499) {
			t.Fatalf("query %q: status %d", raw, code)
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			return
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("query %q: invalid JSON %q: %v", raw, rec.Body.Bytes(), err)
		}
		if code == http.StatusOK {
			if _, ok := v["results"].([]any); !ok {
				t.Fatalf("query %q: no results list in %s", raw, rec.Body.Bytes())
			}
		} else if _, ok := v["error"].(string); !ok {
			t.Fatalf("query %q: status %d without an error message", raw, code)
		}
	})
}
