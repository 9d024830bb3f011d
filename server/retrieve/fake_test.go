package retrieve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// Queries that make fakeRetriever misbehave, to test the server's handling.
const (
	queryPanic = "__panic__"
	queryFail  = "__fail__"
	querySlow  = "__slow__"  // blocks until the context ends
	queryShort = "__short__" // returns one list too few
)

var errFake = errors.New("fake retriever failure")

// fakeRetriever is an exact scorer over a handful of passages: the score is
// the number of distinct lowercase query words found in the title and text,
// ties broken by ID; passages scoring zero are left out.
type fakeRetriever struct {
	passages []corpus.Passage
}

func newFakeRetriever() *fakeRetriever {
	return &fakeRetriever{passages: []corpus.Passage{
		{ID: "p1", Title: "Paris", Text: "Paris is the capital and largest city of France."},
		{ID: "p2", Title: "France", Text: "France is a country in Western Europe; its capital is Paris."},
		{ID: "p3", Title: "Berlin", Text: "Berlin is the capital of Germany."},
		{ID: "p4", Title: "Python (programming language)", Text: "Python is a \"high-level\" programming language.\nIt was created by Guido van Rossum."},
		{ID: "p5", Title: "", Text: "A passage without a title about neural networks."},
		{ID: "p6", Title: "Zürich", Text: "Zürich is the largest city in Switzerland <not the capital> & home of ETH."},
	}}
}

func words(s string) map[string]bool {
	ws := make(map[string]bool)
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	}) {
		ws[w] = true
	}
	return ws
}

func (f *fakeRetriever) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	for qi, q := range queries {
		switch q {
		case queryPanic:
			panic("fake retriever panic")
		case queryFail:
			return nil, fmt.Errorf("search %q: %w", q, errFake)
		case querySlow:
			<-ctx.Done()
			return nil, ctx.Err()
		case queryShort:
			return out[:len(out)-1], nil
		}
		qw := words(q)
		var hits []search.Hit
		for _, p := range f.passages {
			n := 0
			for w := range words(p.Title + " " + p.Text) {
				if qw[w] {
					n++
				}
			}
			if n > 0 {
				hits = append(hits, search.Hit{Passage: p, Score: float64(n)})
			}
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
		hits = hits[:min(k, len(hits))]
		for i := range hits {
			hits[i].Rank = i
		}
		out[qi] = hits
	}
	return out, nil
}

// fixedRetriever returns the same lists whatever it is asked.
type fixedRetriever [][]search.Hit

func (f fixedRetriever) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	return f[:len(queries)], nil
}

// startServer serves s on a real loopback listener until the test ends and
// returns its base URL. Serve must return nil after the graceful shutdown.
func startServer(t *testing.T, s *retrieve.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after shutdown, want nil", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return within 15s of cancel")
		}
	})
	return "http://" + ln.Addr().String()
}

// testClient returns a client for one test. Call it after startServer: its
// idle connections are closed first at cleanup, because Shutdown waits up to
// 5 s for connections that were dialed but never sent a request.
func testClient(t *testing.T) *http.Client {
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// syncWriter serialises writes to a buffer shared by the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
