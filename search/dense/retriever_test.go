package dense

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/dense/densetest"
)

// TestRetrieverOverLoopback builds an index through the embeddings client
// and answers text queries through it, with "passage: "/"query: " prefixes.
func TestRetrieverOverLoopback(t *testing.T) {
	t.Parallel()
	d := &densetest.Server{Dim: 64}
	srv := httptest.NewServer(d)
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	topics := []string{"volcano lava eruption", "violin orchestra symphony", "glacier ice arctic", "falcon feather flight"}
	var ps []corpus.Passage
	for i := range 40 {
		ps = append(ps, corpus.Passage{ID: fmt.Sprint(i), Title: fmt.Sprint("doc ", i), Text: fmt.Sprintf("%s note %d", topics[i%4], i)})
	}
	seq := func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, 64, EmbedPassages(context.Background(), c, seq, "passage: ", 16), BuildOptions{Normalize: true}); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	reqs := d.Requests()
	sent := map[string]bool{}
	for _, r := range reqs {
		for _, in := range r.Input {
			sent[in] = true
		}
	}
	if len(reqs) != 10 || len(sent) != 40 || !sent["passage: \"doc 0\"\nvolcano lava eruption note 0"] {
		t.Fatalf("%d requests, %d distinct inputs, e.g. %q", len(reqs), len(sent), reqs[0].Input[0])
	}
	r := &Retriever{Index: ix, Embedder: c, QueryPrefix: "query: "}
	res, err := r.Search(context.Background(), []string{"glacier ice", "violin symphony"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for qi, want := range []int{2, 1} {
		for _, h := range res[qi] {
			var n int
			fmt.Sscan(h.Passage.ID, &n)
			if n%4 != want {
				t.Errorf("query %d: hit %s (%q) is off topic", qi, h.Passage.ID, h.Passage.Text)
			}
		}
		if len(res[qi]) != 3 || res[qi][2].Rank != 2 {
			t.Errorf("query %d: hits %+v", qi, res[qi])
		}
	}
	if last := d.Requests()[len(d.Requests())-1]; last.Input[0] != "query: glacier ice" {
		t.Errorf("query sent as %q", last.Input[0])
	}
}

// fixedEmbedder returns n vectors of dim zeros whatever it is asked.
type fixedEmbedder struct{ n, dim int }

func (f fixedEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	out := make([][]float32, f.n)
	for i := range out {
		out[i] = make([]float32, f.dim)
	}
	return out, nil
}

// TestBuildEmbedded takes the index's dimension from the embedder's probe
// and refuses an embedder that answers the probe with no vector.
func TestBuildEmbedded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&densetest.Server{Dim: 24})
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	ps := corpus.Seq([]corpus.Passage{{ID: "a", Text: "volcano lava"}, {ID: "b", Text: "violin symphony"}, {ID: "c", Text: "glacier ice"}})
	st, err := BuildEmbedded(context.Background(), t.TempDir(), c, ps, "passage: ", 2, BuildOptions{Normalize: true})
	if err != nil || st.Count != 3 || st.Dim != 24 {
		t.Fatalf("stats %+v, err %v; want 3 vectors of 24", st, err)
	}
	if _, err := BuildEmbedded(context.Background(), t.TempDir(), fixedEmbedder{n: 0, dim: 8}, ps, "", 2, BuildOptions{}); err == nil {
		t.Error("an embedder answering the probe with no vector: no error")
	}
}
