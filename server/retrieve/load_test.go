package retrieve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// loadCase is one kind of request the load test mixes.
type loadCase struct {
	method, path, body string
	status             int
	check              func([]byte) error
}

func checkScored(nq int) func([]byte) error {
	return func(b []byte) error {
		var r struct {
			Result [][]struct {
				Document *struct {
					ID       *string `json:"id"`
					Contents *string `json:"contents"`
				} `json:"document"`
				Score *float64 `json:"score"`
			} `json:"result"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if len(r.Result) != nq {
			return fmt.Errorf("%d lists, want %d", len(r.Result), nq)
		}
		for _, l := range r.Result {
			for _, h := range l {
				if h.Document == nil || h.Document.ID == nil || h.Document.Contents == nil || h.Score == nil {
					return fmt.Errorf("incomplete hit in %s", b)
				}
			}
		}
		return nil
	}
}

func checkPlain(nq int) func([]byte) error {
	return func(b []byte) error {
		var r struct {
			Result [][]map[string]string `json:"result"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if len(r.Result) != nq {
			return fmt.Errorf("%d lists, want %d", len(r.Result), nq)
		}
		for _, l := range r.Result {
			for _, h := range l {
				if len(h) != 2 || h["id"] == "" || h["contents"] == "" {
					return fmt.Errorf("bad document %v", h)
				}
			}
		}
		return nil
	}
}

func checkError(typ string) func([]byte) error {
	return func(b []byte) error {
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		if e.Error.Type != typ || e.Error.Message == "" {
			return fmt.Errorf("error %+v, want type %q", e, typ)
		}
		return nil
	}
}

// TestLoad runs 200 concurrent loopback clients, 20 requests each, mixing
// good and bad requests, checks every answer, then checks /metrics counted
// exactly what was sent.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	const clients, perClient = 200, 20
	srv := retrieve.New(newFakeRetriever(), retrieve.Config{MaxTopK: 5})
	base := startServer(t, srv)
	cases := []loadCase{
		{"POST", "/retrieve", `{"queries":["capital of France","python","Zürich city"],"topk":3,"return_scores":true}`, 200, checkScored(3)},
		{"POST", "/retrieve", `{"queries":["Berlin Germany"]}`, 200, checkPlain(1)},
		{"POST", "/retrieve", `{"queries":["capital"`, 400, checkError("invalid_json")},
		{"POST", "/retrieve", `{"queries":["a"],"topk":6}`, 400, checkError("invalid_request")},
		{"GET", "/retrieve", ``, 405, checkError("method_not_allowed")},
		{"POST", "/retrieve", `{"queries":["__panic__"]}`, 500, checkError("internal_error")},
		{"GET", "/elsewhere", ``, 404, checkError("not_found")},
	}
	c := testClient(t)
	var sent [7]atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				ci := (g*perClient + i) % len(cases)
				lc := cases[ci]
				req, _ := http.NewRequest(lc.method, base+lc.path, strings.NewReader(lc.body))
				if lc.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := c.Do(req)
				if err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", g, i, err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				sent[ci].Add(1)
				if err == nil && resp.StatusCode != lc.status {
					err = fmt.Errorf("status %d, want %d", resp.StatusCode, lc.status)
				}
				if err == nil {
					err = lc.check(b)
				}
				if err != nil {
					errs <- fmt.Errorf("client %d request %d (%s %s %s): %w", g, i, lc.method, lc.path, lc.body, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 10 {
		t.Errorf("... and %d more errors", n-10)
	}

	// Metrics: one line per (path, code), query count, histogram count.
	want := map[string]float64{
		`sleuth_retrieve_requests_total{code="200",path="/retrieve"}`: float64(sent[0].Load() + sent[1].Load()),
		`sleuth_retrieve_requests_total{code="400",path="/retrieve"}`: float64(sent[2].Load() + sent[3].Load()),
		`sleuth_retrieve_requests_total{code="405",path="/retrieve"}`: float64(sent[4].Load()),
		`sleuth_retrieve_requests_total{code="500",path="/retrieve"}`: float64(sent[5].Load()),
		`sleuth_retrieve_requests_total{code="404",path="other"}`:     float64(sent[6].Load()),
		`sleuth_retrieve_queries_total`:                               float64(3*sent[0].Load() + sent[1].Load()),
		`sleuth_retrieve_request_duration_seconds_count`:              float64(sent[0].Load() + sent[1].Load() + sent[2].Load() + sent[3].Load() + sent[4].Load() + sent[5].Load()),
		`sleuth_retrieve_request_duration_seconds_bucket{le="+Inf"}`:  float64(sent[0].Load() + sent[1].Load() + sent[2].Load() + sent[3].Load() + sent[4].Load() + sent[5].Load()),
		`sleuth_retrieve_in_flight_requests`:                          0,
		`sleuth_retrieve_panics_total`:                                float64(sent[5].Load()),
	}
	var total int64
	for i := range sent {
		total += sent[i].Load()
	}
	if total != clients*perClient {
		t.Errorf("%d requests completed, want %d", total, clients*perClient)
	}
	got := scrape(t, base)
	gotSome := make(map[string]float64)
	for k := range want {
		gotSome[k] = got[k]
	}
	if diff := cmp.Diff(want, gotSome); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
	if got["process_start_time_seconds"] <= 0 {
		t.Error("process_start_time_seconds missing")
	}
}

// scrape reads /metrics into a map from series (name and labels) to value,
// checking every line is a comment or "series value".
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp := do(t, testClient(t), "GET", base+"/metrics", "")
	if resp.status != 200 || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", resp.status, resp.header.Get("Content-Type"))
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(resp.body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q is not \"series value\"", line)
		}
		out[line[:i]] = v
	}
	return out
}
