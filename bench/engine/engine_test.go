package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// testPassages is a small zipf corpus plus three passages with words found
// nowhere else, so a query for them has one known answer.
func testPassages() []corpus.Passage {
	ps := slices.Collect(zipf.Passages(zipf.Config{Passages: 300}))
	return append(ps,
		corpus.Passage{ID: "u1", Title: "Quokka", Text: "the quokka lives on rottnest island"},
		corpus.Passage{ID: "u2", Title: "Axolotl", Text: "an axolotl regrows limbs"},
		corpus.Passage{ID: "u3", Title: "Pangolin", Text: "a pangolin has scales, NOT fur"},
	)
}

func TestEngines(t *testing.T) {
	passages := testPassages()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			eng, err := New(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "idx")
			if err := eng.Build(ctx, dir, slices.Values(passages)); err != nil {
				if strings.Contains(err.Error(), "not available") || strings.Contains(err.Error(), "built without") {
					t.Skip(err)
				}
				t.Fatalf("Build: %v", err)
			}
			idx, err := eng.Open(ctx, dir)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer idx.Close()
			checkQueries(t, idx)
		})
	}
}

func checkQueries(t *testing.T, idx Index) {
	t.Helper()
	ctx := context.Background()
	tests := []struct {
		query string
		want  []string
	}{
		{"axolotl", []string{"u2"}},
		{"Quokka zzzunknown", []string{"u1"}}, // title is indexed; OR: an unknown term does not empty the result
		{"pangolin NOT", []string{"u3"}},      // FTS5 operators are taken as words
		{"zzzunknown", nil},
	}
	for _, tt := range tests {
		got, err := idx.Search(ctx, tt.query, 10)
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.query, err)
		}
		if len(got) > 0 && tt.want != nil {
			got = got[:1]
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Search(%q) top hit (-want +got):\n%s", tt.query, diff)
		}
	}
	// Zipf queries hit many passages: top-k must be full and distinct.
	for i, q := range zipf.Queries(zipf.Config{Passages: 300}, 20) {
		got, err := idx.Search(ctx, q, 5)
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		if len(got) != 5 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 5 {
			t.Errorf("query %d %q: got %v, want 5 distinct ids", i, q, got)
		}
	}
}

func TestNewUnknown(t *testing.T) {
	_, err := New("lucene")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", "lucene")) {
		t.Fatalf("New(lucene) error = %v, want one naming the engine", err)
	}
}
