package retrieve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// TestTrainerShapesBatched sends the three request shapes trainers use
// (Search-R1's list, SkyRL's one query, rLLM's top_k) concurrently to a
// micro-batching server: each gets its own answer in Search-R1's shape,
// and /metrics shows batches.
func TestTrainerShapesBatched(t *testing.T) {
	s := retrieve.New(newFakeRetriever(), retrieve.Config{Batch: &search.CoalesceConfig{MaxBatch: 8}})
	defer s.Close()
	url := startServer(t, s)
	c := testClient(t)
	bodies := []string{
		`{"queries":["capital","paris capital"],"topk":2,"return_scores":true}`,
		`{"query":"capital","topk":2,"return_scores":true}`,
		`{"query":"largest city","top_k":2}`,
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Go(func() {
			body := bodies[i%3]
			r, err := send(c, "POST", url+"/retrieve", body)
			if err != nil {
				errs <- err
				return
			}
			var out struct {
				Result [][]json.RawMessage `json:"result"`
			}
			switch {
			case r.status != 200:
				errs <- fmt.Errorf("%s: %d %s", body, r.status, r.body)
			case json.Unmarshal(r.body, &out) != nil || len(out.Result) != 1+btoi(i%3 == 0) || len(out.Result[0]) != 2:
				errs <- fmt.Errorf("%s: answered %s", body, r.body)
			case i%3 != 2 && !strings.Contains(string(out.Result[0][0]), `"score"`):
				errs <- fmt.Errorf("%s: no scores in %s", body, r.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m := do(t, c, "GET", url+"/metrics", "")
	for _, want := range []string{"sleuth_retrieve_queue_depth 0", "sleuth_retrieve_batch_size_count ", `sleuth_retrieve_latency_seconds{quantile="0.99"}`} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m.body)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestOverloadAnswers503 fills the batch queue behind a held search: the
// next request gets 503 with Retry-After, and a client that backs off
// for that long gets its answer once the search is released.
func TestOverloadAnswers503(t *testing.T) {
	g := gatedRetriever{gate: make(chan struct{}), entered: make(chan struct{}, 8), next: newFakeRetriever()}
	s := retrieve.New(g, retrieve.Config{Batch: &search.CoalesceConfig{MaxBatch: 4, MaxQueue: 2, Workers: 1}})
	defer s.Close()
	url := startServer(t, s)
	c := testClient(t)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = send(c, "POST", url+"/retrieve", `{"query":"held"}`) })
	g.waitEntered(t)
	for range 2 { // fill the queue
		wg.Go(func() { _, _ = send(c, "POST", url+"/retrieve", `{"query":"queued"}`) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(do(t, c, "GET", url+"/metrics", "").body), "sleuth_retrieve_queue_depth 2") {
		if time.Now().After(deadline) {
			t.Fatal("the queue never filled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := do(t, c, "POST", url+"/retrieve", `{"query":"one too many"}`)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), `"overloaded"`) {
		t.Fatalf("overloaded: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	close(g.gate) // the held search ends; the queue drains
	// A client that backs off as Retry-After says, as SkyRL's retries do.
	wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
	for attempt := 0; ; attempt++ {
		time.Sleep(time.Duration(wait) * time.Second / 10) // a tenth of it: the test need not wait a whole second
		r = do(t, c, "POST", url+"/retrieve", `{"query":"one too many"}`)
		if r.status == 200 {
			break
		}
		if r.status != http.StatusServiceUnavailable || attempt == 50 {
			t.Fatalf("retry %d: %d %s", attempt, r.status, r.body)
		}
	}
	wg.Wait()
}
