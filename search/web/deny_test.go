package web

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/search"
)

type fixedHits [][]search.Hit

func (f fixedHits) Search(context.Context, []string, int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(f))
	for i := range f {
		out[i] = append([]search.Hit(nil), f[i]...)
	}
	return out, nil
}

func TestDeniedDropsAndCounts(t *testing.T) {
	hit := func(u string) search.Hit {
		return search.Hit{Passage: corpus.Passage{ID: u, Meta: map[string]string{"url": u}}}
	}
	r := fixedHits{
		{hit("https://en.wikipedia.org/wiki/A"), hit("https://huggingface.co/datasets/hotpot_qa"), hit("https://hotpotqa.github.io/")},
		{{Passage: corpus.Passage{ID: "https://huggingface.co/datasets/nq_open"}}, hit("https://example.com/")},
	}
	d := &Denied{R: r, List: guard.DefaultDenyList()}
	got, err := d.Search(context.Background(), []string{"a", "b"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]string
	for _, hs := range got {
		var row []string
		for _, h := range hs {
			row = append(row, h.Passage.ID)
		}
		ids = append(ids, row)
	}
	want := [][]string{{"https://en.wikipedia.org/wiki/A"}, {"https://example.com/"}}
	if diff := cmp.Diff(want, ids); diff != "" || d.Blocked() != 3 {
		t.Errorf("kept (-want +got):\n%s blocked %d, want 3", diff, d.Blocked())
	}
	if _, err := d.Search(context.Background(), []string{"a", "b"}, 3); err != nil || d.Blocked() != 6 {
		t.Errorf("second search: blocked %d, want 6 (counts add up)", d.Blocked())
	}
	if len(r[0]) != 3 {
		t.Error("the inner retriever's hits were changed")
	}
}
