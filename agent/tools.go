package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/sleuth-research/sleuth/search"
)

// Call is one tool invocation parsed from a policy turn.
type Call struct {
	Tool  string            `json:"tool"`
	Input string            `json:"input"`          // the query, URL, document ids…
	K     int               `json:"k,omitempty"`    // results wanted, where that applies
	Args  map[string]string `json:"args,omitempty"` // other string arguments of a JSON call (a browse goal)
	// Question is the episode's question, for tools that think about it
	// (the browser).
	Question string `json:"-"`
}

// Observation is what a tool returns: text for the policy plus what the
// episode keeps about it.
type Observation struct {
	Log     []string // what the tool did inside, for traces
	Hits    []search.Hit
	Text    string // when set, used as is (still escaped); otherwise hits are formatted
	Bytes   int64  // bytes fetched from outside, for budgets and cost
	Dollars float64
	Flagged int // texts the tool's own guard flagged inside (the browser's page parts)
	// Images are the images shown (page images, crops); Text is then their
	// stand-in for text-only models. Image tools also record them in the
	// episode's image memory (images.go), which is what chat models get.
	Images []ShownImage
}

// The built-in tools' names (Tool.Name), as presets list them.
const (
	ToolSearch = "search"
	ToolCrop   = "crop"
	ToolBrowse = "browse"
)

// Tool is anything a policy can call. Implementations are safe for
// concurrent use.
type Tool interface {
	Name() string
	Call(ctx context.Context, c Call) (Observation, error)
}

// SearchTool answers queries from a Retriever.
type SearchTool struct {
	R search.Retriever
}

// Name is "search".
func (SearchTool) Name() string { return ToolSearch }

// Call retrieves c.K passages for c.Input.
func (t SearchTool) Call(ctx context.Context, c Call) (Observation, error) {
	res, err := t.R.Search(ctx, []string{c.Input}, c.K)
	if err != nil {
		return Observation{}, fmt.Errorf("search %q: %w", c.Input, err)
	}
	if len(res) != 1 {
		return Observation{}, fmt.Errorf("search %q: retriever returned %d lists for 1 query", c.Input, len(res))
	}
	return Observation{Hits: res[0]}, nil
}

// formatDocs renders hits as Search-R1 does ("Doc 1(Title: …) text"),
// numbering from first and escaping every passage (see writeDocs).
func formatDocs(hits []search.Hit, first int, p *tagParser) string {
	var b strings.Builder
	writeDocs(&b, hits, first, p)
	return b.String()
}

type searchHit = search.Hit
