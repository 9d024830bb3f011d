package web_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	websearch "github.com/sleuth-research/sleuth/search/web"
	simweb "github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// The SearXNG client against sleuth's own simulated web (a real SearXNG-format
// endpoint over loopback): record a batch, stop the site, replay it.
func TestSimulatedWebRecordReplay(t *testing.T) {
	t.Parallel()
	w, err := world.Generate(world.Config{Seed: 7, Entities: 100, Questions: 20})
	if err != nil {
		t.Fatal(err)
	}
	site, err := simweb.New(w, simweb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	srv := httptest.NewServer(site)
	defer srv.Close()

	var queries []string
	for _, q := range w.Questions[:5] {
		queries = append(queries, q.Chain[0].Query)
	}
	client, err := websearch.New(websearch.SearXNG, websearch.Config{BaseURL: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	snap, err := websearch.CreateSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	recorded, cost, err := websearch.SearchWithCost(ctx, websearch.NewRecorder(client.Name(), client, snap), queries, 5)
	if err != nil {
		t.Fatal(err)
	}
	snap.Close()
	if cost.Requests == 0 || cost.Queries == 0 {
		t.Errorf("recording cost %+v, want requests", cost)
	}
	// The first hop's subject page should be found for its own query.
	for i, q := range w.Questions[:5] {
		want := srv.URL + site.EntityPath(q.Chain[0].SubjectID)
		found := false
		for _, h := range recorded[i] {
			found = found || h.Passage.ID == want
		}
		if !found {
			t.Errorf("query %q: %s not among %d hits", queries[i], want, len(recorded[i]))
		}
	}
	srv.Close()
	site.Close()

	rs, err := websearch.OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	replayed, cost, err := websearch.SearchWithCost(ctx, websearch.NewReplayer(websearch.SearXNG, rs), queries, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recorded, replayed); diff != "" {
		t.Errorf("replay differs (-recorded +replayed):\n%s", diff)
	}
	if cost != (websearch.Cost{}) {
		t.Errorf("replay cost %+v, want nothing", cost)
	}
	_, err = websearch.NewReplayer(websearch.SearXNG, rs).Search(ctx, []string{"never asked"}, 5)
	if !errors.Is(err, websearch.ErrNotRecorded) {
		t.Errorf("unrecorded query: %v", err)
	}
}
