package serverbench

import (
	"strings"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
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
