package serverbench

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/searchtest"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// TestRetrieveLoad sends /retrieve requests for a moment: some are made,
// none fail, and the table names the load.
func TestRetrieveLoad(t *testing.T) {
	rs := retrieve.New(searchtest.Words{{ID: "1", Text: "river city"}, corpus.Passage{ID: "2", Text: "museum author"}}, retrieve.Config{})
	defer rs.Close()
	l := Retrieve(t.Context(), rs, 2, 200*time.Millisecond)
	if l.Requests == 0 || l.Failed != 0 || l.Clients != 2 || l.P99Millis < l.P50Millis {
		t.Fatalf("load %+v", l)
	}
	l.Name = "/retrieve"
	var b strings.Builder
	if err := WriteLoads(&b, []Load{l}); err != nil || !strings.HasPrefix(b.String(), "load ") || !strings.Contains(b.String(), "/retrieve ") {
		t.Errorf("table %q (%v)", b.String(), err)
	}
}

// TestEnv runs the three loads of `bench env` briefly over a small index,
// with an environment server that accepts every call: each load is made
// and named, and the server is closed.
func TestEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	ps := []corpus.Passage{{ID: "1", Text: "river city"}, {ID: "2", Text: "museum author"}}
	if _, err := bm25.Build(t.Context(), dir, corpus.Seq(ps), bm25.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	closed := false
	accept := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"session":"s1"}`) })
	loads, err := Env(t.Context(), EnvOptions{Index: dir, Sessions: 2, Clients: 2, Batch: 4, Duration: 150 * time.Millisecond,
		Server: func(index string) (http.Handler, func()) {
			if index != dir {
				t.Errorf("server over %q, want %q", index, dir)
			}
			return accept, func() { closed = true }
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"env tool calls (searchr1 search)", "/retrieve unbatched", "/retrieve batched (up to 4)"}
	if len(loads) != len(want) {
		t.Fatalf("%d loads, want %d", len(loads), len(want))
	}
	for i, l := range loads {
		if l.Name != want[i] || l.Requests == 0 || l.Failed != 0 {
			t.Errorf("load %d: %+v, want %q with requests and no failures", i, l, want[i])
		}
	}
	if !closed {
		t.Error("the environment server was not closed")
	}
}
