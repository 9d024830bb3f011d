package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
)

type pageFetcher struct{ calls []string }

func (p *pageFetcher) Fetch(_ context.Context, u string) (*fetch.Page, error) {
	p.calls = append(p.calls, u)
	return &fetch.Page{Text: "page"}, nil
}

func TestDeniedFetcher(t *testing.T) {
	inner := &pageFetcher{}
	d := &DeniedFetcher{Inner: inner, List: guard.DefaultDenyList()}
	if _, err := d.Fetch(context.Background(), "https://huggingface.co/datasets/hotpot_qa/viewer"); err == nil || !strings.Contains(err.Error(), "leakage guard") {
		t.Fatalf("blocked fetch: err %v", err)
	}
	if _, err := d.Fetch(context.Background(), "https://en.wikipedia.org/wiki/X"); err != nil {
		t.Fatal(err)
	}
	if d.Blocked() != 1 || len(inner.calls) != 1 || inner.calls[0] != "https://en.wikipedia.org/wiki/X" {
		t.Errorf("blocked %d, inner calls %v: the blocked URL must never reach the fetcher", d.Blocked(), inner.calls)
	}
}
