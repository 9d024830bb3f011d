package retrieve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"unicode"
)

// request is a validated POST /retrieve body.
type request struct {
	Queries      []string
	TopK         int
	ReturnScores bool
	// Retriever names one of Config.Retrievers; empty means the default.
	Retriever string
}

// apiError is an error with the HTTP status and error type it is reported as.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

// Error types sent in {"error":{"message":...,"type":...}}.
const (
	errTypeInvalidJSON      = "invalid_json"
	errTypeInvalidRequest   = "invalid_request"
	errTypeTooLarge         = "request_too_large"
	errTypeMethodNotAllowed = "method_not_allowed"
	errTypeNotFound         = "not_found"
	errTypeRetriever        = "retriever_error"
	errTypeTimeout          = "timeout"
	errTypeCanceled         = "client_closed_request"
	errTypeInternal         = "internal_error"
	errTypeOverloaded       = "overloaded"
)

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: errTypeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// decodeRequest parses and validates a /retrieve body the way Search-R1's
// pydantic model QueryRequest{queries: List[str], topk: Optional[int],
// return_scores: bool = False} reads it: keys are case-sensitive, unknown
// keys are ignored, the last of duplicate keys wins, a null or absent topk
// means the server default, and an integral float such as 3.0 is an integer.
// It is stricter than Search-R1 where Search-R1 would fail later or silently
// misbehave: the query list must be non-empty and within maxQueries, topk
// must lie in [1, maxTopK] (Search-R1 maps topk 0 to its default; sleuth
// rejects it), and return_scores must be a boolean or null.
func decodeRequest(body []byte, defaultTopK, maxTopK, maxQueries int) (request, *apiError) {
	var fields map[string]json.RawMessage
	// json.Unmarshal, unlike a Decoder, rejects data after the object, as
	// Python's json.loads does ("Extra data").
	if err := json.Unmarshal(body, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return request{}, badRequest("request body must be a JSON object, got %s", typeErr.Value)
		}
		return request{}, &apiError{Status: http.StatusBadRequest, Type: errTypeInvalidJSON, Message: "malformed JSON: " + err.Error()}
	}
	if fields == nil {
		return request{}, badRequest("request body must be a JSON object, got null")
	}
	req := request{TopK: defaultTopK}
	qs, aerr := decodeQueryFields(fields, maxQueries)
	if aerr != nil {
		return request{}, aerr
	}
	req.Queries = qs
	// topk is Search-R1's name, top_k rLLM's; one request gives one of them.
	kname, kraw := "topk", fields["topk"]
	if raw, ok := fields["top_k"]; ok && !isNull(raw) {
		if kraw != nil && !isNull(kraw) {
			return request{}, badRequest(`give "topk" or "top_k", not both`)
		}
		kname, kraw = "top_k", raw
	}
	if kraw != nil && !isNull(kraw) {
		k, err := decodeInt(kraw)
		if err != nil {
			return request{}, badRequest(`%q must be an integer: %v`, kname, err)
		}
		if k < 1 || k > int64(maxTopK) {
			return request{}, badRequest(`%q must be between 1 and %d, got %d`, kname, maxTopK, k)
		}
		req.TopK = int(k)
	}
	if raw, ok := fields["return_scores"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.ReturnScores); err != nil {
			return request{}, badRequest(`"return_scores" must be a boolean, got %s`, abbreviate(raw))
		}
	}
	if raw, ok := fields["retriever"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.Retriever); err != nil || req.Retriever == "" {
			return request{}, badRequest(`"retriever" must be a non-empty string, got %s`, abbreviate(raw))
		}
	}
	return req, nil
}

// decodeQueryFields reads the queries of any of the three request shapes
// trainers send: Search-R1's list ("queries"), or one query ("query", as
// SkyRL and rLLM send it), answered as a list of one.
func decodeQueryFields(fields map[string]json.RawMessage, maxQueries int) ([]string, *apiError) {
	list, hasList := fields["queries"]
	one, hasOne := fields["query"]
	hasList, hasOne = hasList && !isNull(list), hasOne && !isNull(one)
	switch {
	case hasList && hasOne:
		return nil, badRequest(`give "queries" (a list of strings) or "query" (a string), not both`)
	case hasOne:
		if len(one) == 0 || one[0] != '"' {
			return nil, badRequest(`"query" must be a string, got %s`, abbreviate(one))
		}
		var q string
		if err := json.Unmarshal(one, &q); err != nil {
			return nil, badRequest(`"query": %v`, err)
		}
		return []string{q}, nil
	case hasList:
		return decodeQueries(list, maxQueries)
	}
	return nil, badRequest(`missing required field "queries" (a list of strings) or "query" (a string)`)
}

func decodeQueries(raw json.RawMessage, maxQueries int) ([]string, *apiError) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, badRequest(`"queries" must be a list of strings, got %s`, abbreviate(raw))
	}
	if len(items) == 0 {
		return nil, badRequest(`"queries" must not be empty`)
	}
	if len(items) > maxQueries {
		return nil, &apiError{
			Status:  http.StatusRequestEntityTooLarge,
			Type:    errTypeTooLarge,
			Message: fmt.Sprintf("too many queries: %d, at most %d per request", len(items), maxQueries),
		}
	}
	qs := make([]string, len(items))
	for i, it := range items {
		// Only a JSON string is a query; pydantic v2 does not coerce numbers.
		if len(it) == 0 || it[0] != '"' {
			return nil, badRequest(`"queries"[%d] must be a string, got %s`, i, abbreviate(it))
		}
		if err := json.Unmarshal(it, &qs[i]); err != nil {
			return nil, badRequest(`"queries"[%d]: %v`, i, err)
		}
	}
	return qs, nil
}

// checkQueries bounds each query's size before it reaches the retriever:
// a query of tens of thousands of terms costs an index far more than its
// bytes suggest. Terms are counted as runs of letters and digits, in one
// pass, so a hostile query is refused in time linear in its length.
func checkQueries(qs []string, maxBytes, maxTerms int) *apiError {
	for i, q := range qs {
		if len(q) > maxBytes {
			return badRequest(`"queries"[%d] is %d bytes long; at most %d bytes per query`, i, len(q), maxBytes)
		}
		if n := countTerms(q); n > maxTerms {
			return badRequest(`"queries"[%d] has %d terms; at most %d terms per query`, i, n, maxTerms)
		}
	}
	return nil
}

// countTerms counts the runs of letters and digits in s.
func countTerms(s string) int {
	n, in := 0, false
	for _, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && !in {
			n++
		}
		in = word
	}
	return n
}

// decodeInt accepts a JSON integer or an integral float (3.0), as pydantic's
// lax int mode does; booleans, strings and fractions are errors.
func decodeInt(raw json.RawMessage) (int64, error) {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, fmt.Errorf("got %s", abbreviate(raw))
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("got %s", abbreviate(raw))
	}
	return int64(f), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// abbreviate quotes a JSON fragment for an error message, cut to 60 bytes.
func abbreviate(raw json.RawMessage) string {
	const max = 60
	s := string(bytes.TrimSpace(raw))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
