package retrieve

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeRequest(t *testing.T) {
	const def, maxK, maxQ = 3, 10, 4
	tests := []struct {
		name       string
		body       string
		want       request
		wantStatus int    // 0: success
		wantMsg    string // substring of the error message
	}{
		{name: "search-r1 example", body: `{"queries":["What is Python?","neural nets"],"topk":3,"return_scores":true}`,
			want: request{Queries: []string{"What is Python?", "neural nets"}, TopK: 3, ReturnScores: true}},
		{name: "defaults", body: `{"queries":["q"]}`, want: request{Queries: []string{"q"}, TopK: def}},
		{name: "null topk and return_scores", body: `{"queries":["q"],"topk":null,"return_scores":null}`, want: request{Queries: []string{"q"}, TopK: def}},
		{name: "integral float topk", body: `{"queries":["q"],"topk":5.0}`, want: request{Queries: []string{"q"}, TopK: 5}},
		{name: "exponent topk", body: `{"queries":["q"],"topk":1e1}`, want: request{Queries: []string{"q"}, TopK: 10}},
		{name: "unknown keys ignored", body: `{"queries":["q"],"extra":{"a":[1]},"Topk":99}`, want: request{Queries: []string{"q"}, TopK: def}},
		{name: "last duplicate wins", body: `{"queries":["a"],"queries":["b"]}`, want: request{Queries: []string{"b"}, TopK: def}},
		{name: "empty string query allowed", body: `{"queries":[""]}`, want: request{Queries: []string{""}, TopK: def}},
		{name: "unicode escapes", body: `{"queries":["caf\u00e9 \ud83d\ude00"]}`, want: request{Queries: []string{"café 😀"}, TopK: def}},
		{name: "white space around", body: " \n{\"queries\":[\"q\"]}\n ", want: request{Queries: []string{"q"}, TopK: def}},

		{name: "skyrl single query", body: `{"query":"who","topk":3,"return_scores":true}`, want: request{Queries: []string{"who"}, TopK: 3, ReturnScores: true}},
		{name: "rllm top_k", body: `{"query":"who","top_k":10}`, want: request{Queries: []string{"who"}, TopK: 10}},
		{name: "top_k with queries", body: `{"queries":["a"],"top_k":2}`, want: request{Queries: []string{"a"}, TopK: 2}},
		{name: "null query beside queries", body: `{"queries":["a"],"query":null}`, want: request{Queries: []string{"a"}, TopK: def}},
		{name: "query and queries", body: `{"queries":["a"],"query":"b"}`, wantStatus: http.StatusBadRequest, wantMsg: "not both"},
		{name: "topk and top_k", body: `{"query":"a","topk":2,"top_k":3}`, wantStatus: http.StatusBadRequest, wantMsg: "not both"},
		{name: "query list", body: `{"query":["a"]}`, wantStatus: http.StatusBadRequest, wantMsg: `"query" must be a string`},
		{name: "top_k zero", body: `{"query":"a","top_k":0}`, wantStatus: http.StatusBadRequest, wantMsg: `"top_k" must be between 1 and 10`},

		{name: "empty body", body: ``, wantStatus: http.StatusBadRequest, wantMsg: "malformed JSON"},
		{name: "malformed", body: `{"queries":["q"]`, wantStatus: http.StatusBadRequest, wantMsg: "malformed JSON"},
		{name: "trailing data", body: `{"queries":["q"]} {}`, wantStatus: http.StatusBadRequest, wantMsg: "malformed JSON"},
		{name: "array body", body: `["q"]`, wantStatus: http.StatusBadRequest, wantMsg: "must be a JSON object"},
		{name: "null body", body: `null`, wantStatus: http.StatusBadRequest, wantMsg: "must be a JSON object"},
		{name: "missing queries", body: `{"topk":3}`, wantStatus: http.StatusBadRequest, wantMsg: `missing required field "queries"`},
		{name: "null queries", body: `{"queries":null}`, wantStatus: http.StatusBadRequest, wantMsg: `missing required field "queries"`},
		{name: "case-sensitive key", body: `{"Queries":["q"]}`, wantStatus: http.StatusBadRequest, wantMsg: `missing required field "queries"`},
		{name: "string queries", body: `{"queries":"q"}`, wantStatus: http.StatusBadRequest, wantMsg: "must be a list of strings"},
		{name: "number query", body: `{"queries":["a",3]}`, wantStatus: http.StatusBadRequest, wantMsg: `"queries"[1] must be a string`},
		{name: "null query", body: `{"queries":[null]}`, wantStatus: http.StatusBadRequest, wantMsg: `"queries"[0] must be a string`},
		{name: "empty queries", body: `{"queries":[]}`, wantStatus: http.StatusBadRequest, wantMsg: "must not be empty"},
		{name: "too many queries", body: `{"queries":["a","b","c","d","e"]}`, wantStatus: http.StatusRequestEntityTooLarge, wantMsg: "too many queries: 5, at most 4"},
		{name: "topk zero", body: `{"queries":["q"],"topk":0}`, wantStatus: http.StatusBadRequest, wantMsg: "between 1 and 10, got 0"},
		{name: "topk negative", body: `{"queries":["q"],"topk":-2}`, wantStatus: http.StatusBadRequest, wantMsg: "got -2"},
		{name: "topk too big", body: `{"queries":["q"],"topk":11}`, wantStatus: http.StatusBadRequest, wantMsg: "got 11"},
		{name: "topk huge", body: `{"queries":["q"],"topk":1e300}`, wantStatus: http.StatusBadRequest, wantMsg: `"topk" must be an integer`},
		{name: "topk fraction", body: `{"queries":["q"],"topk":2.5}`, wantStatus: http.StatusBadRequest, wantMsg: `"topk" must be an integer`},
		{name: "topk string", body: `{"queries":["q"],"topk":"3"}`, wantStatus: http.StatusBadRequest, wantMsg: `"topk" must be an integer`},
		{name: "topk bool", body: `{"queries":["q"],"topk":true}`, wantStatus: http.StatusBadRequest, wantMsg: `"topk" must be an integer`},
		{name: "return_scores string", body: `{"queries":["q"],"return_scores":"yes"}`, wantStatus: http.StatusBadRequest, wantMsg: `"return_scores" must be a boolean`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, aerr := decodeRequest([]byte(tc.body), def, maxK, maxQ)
			if tc.wantStatus == 0 {
				if aerr != nil {
					t.Fatalf("decodeRequest(%s): %v", tc.body, aerr)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("decodeRequest(%s) mismatch (-want +got):\n%s", tc.body, diff)
				}
				return
			}
			if aerr == nil {
				t.Fatalf("decodeRequest(%s) = %+v, want status %d", tc.body, got, tc.wantStatus)
			}
			if aerr.Status != tc.wantStatus || !strings.Contains(aerr.Message, tc.wantMsg) {
				t.Errorf("decodeRequest(%s) = %d %q, want %d containing %q", tc.body, aerr.Status, aerr.Message, tc.wantStatus, tc.wantMsg)
			}
		})
	}
}

// FuzzDecodeRequest checks the decoder never panics, answers every input
// with either a request within the limits or a 4xx with a type and message.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"queries":["What is Python?","neural nets"],"topk":3,"return_scores":true}`,
		`{"queries":["q"],"topk":null}`,
		`{"queries":["a",3]}`,
		`{"queries":[]}`,
		`{"queries":["q"],"topk":2.0,"return_scores":false}`,
		`{"queries":"q"}`,
		`[]`, `null`, ``, `{`, `{"queries":["\ud800"]}`,
		`{"queries":["a","b","c","d","e","f","g","h","i"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, aerr := decodeRequest(body, 3, 10, 8)
		if aerr != nil {
			if aerr.Status < 400 || aerr.Status > 499 || aerr.Type == "" || aerr.Message == "" {
				t.Fatalf("bad error for %q: %+v", body, aerr)
			}
			return
		}
		if len(req.Queries) < 1 || len(req.Queries) > 8 || req.TopK < 1 || req.TopK > 10 {
			t.Fatalf("out-of-limits request accepted from %q: %+v", body, req)
		}
	})
}
