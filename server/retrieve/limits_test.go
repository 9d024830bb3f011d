package retrieve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// wideBM25 is a real index with 40,000 distinct words, 20 to a passage.
func wideBM25(t *testing.T) (*bm25.Index, []string) {
	t.Helper()
	var words []string
	var ps []corpus.Passage
	for p := range 2000 {
		var b strings.Builder
		for w := range 20 {
			word := fmt.Sprintf("w%dx%d", p, w)
			words = append(words, word)
			fmt.Fprintf(&b, "%s common ", word)
		}
		ps = append(ps, corpus.Passage{ID: fmt.Sprint(p), Text: b.String()})
	}
	seq := iter.Seq2[corpus.Passage, error](func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	})
	dir := t.TempDir()
	if _, err := bm25.Build(context.Background(), dir, seq, bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := bm25.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix, words
}

func TestHugeQueryRefusedFast(t *testing.T) {
	ix, words := wideBM25(t)
	base := startServer(t, retrieve.New(ix, retrieve.Config{}))
	c := testClient(t)
	bomb, _ := json.Marshal(map[string]any{"queries": []string{strings.Join(words, " ")}})
	small, _ := json.Marshal(map[string]any{"queries": []string{strings.Repeat("a ", 1000)}}) // 1,000 terms, 2,000 bytes
	// Best of three, so that a loaded machine's scheduling is not measured.
	best := time.Hour
	for range 3 {
		start := time.Now()
		got := do(t, c, "POST", base+"/retrieve", string(bomb))
		best = min(best, time.Since(start))
		if got.status != http.StatusBadRequest || !strings.Contains(string(got.body), "at most 4096 bytes") {
			t.Fatalf("40,000-term query: %d %s", got.status, got.body)
		}
	}
	if best > 50*time.Millisecond {
		t.Errorf("40,000-term query refused in %v, want ≤ 50 ms", best)
	}
	if got := do(t, c, "POST", base+"/retrieve", string(small)); got.status != http.StatusBadRequest || !strings.Contains(string(got.body), "at most 256 terms") {
		t.Errorf("1,000-term query: %d %s", got.status, got.body)
	}

	// Bombs sent alongside leave ordinary queries fast.
	normal, _ := json.Marshal(map[string]any{"queries": []string{words[7] + " " + words[9000]}, "topk": 3})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = send(c, "POST", base+"/retrieve", string(bomb))
			}
		}()
	}
	var lat []time.Duration
	for range 200 {
		start := time.Now()
		got := do(t, c, "POST", base+"/retrieve", string(normal))
		lat = append(lat, time.Since(start))
		if got.status != http.StatusOK {
			t.Fatalf("normal query: %d %s", got.status, got.body)
		}
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	if p99 := lat[len(lat)*99/100]; p99 > 100*time.Millisecond {
		t.Errorf("normal query p99 %v beside bombs, want < 100 ms", p99)
	} else {
		t.Logf("normal query p50 %v p99 %v beside two clients sending 40,000-term queries", lat[len(lat)/2], p99)
	}
}
