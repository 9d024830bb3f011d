package toolset_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/searchtest"
	"github.com/sleuth-research/sleuth/toolset"
)

// TestOpenSources builds presets over Sources: the local index is opened
// once and closed with the system, and what a preset cannot use is
// refused with the flag to change.
func TestOpenSources(t *testing.T) {
	t.Parallel()
	searchr1, err := agent.LoadPreset("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	opened, closed := 0, 0
	local := func() (search.Retriever, func(), error) {
		opened++
		return searchtest.Words{{ID: "1", Title: "Tarsk", Text: "tarsk is a city"}}, func() { closed++ }, nil
	}
	sys, err := toolset.New().Open(searchr1, nil, toolset.Sources{Local: local})
	if err != nil {
		t.Fatal(err)
	}
	if sys.Runner.Tools[agent.ToolSearch] == nil || sys.Runner.Preset.Name != "searchr1" || sys.Leakage() != nil {
		t.Errorf("system: tools %v, preset %q, leakage %v", sys.Runner.Tools, sys.Runner.Preset.Name, sys.Leakage())
	}
	sys.Close()
	if opened != 1 || closed != 1 {
		t.Errorf("local index opened %d and closed %d times, want 1 and 1", opened, closed)
	}

	broken := errors.New("index broken")
	for _, tc := range []struct {
		name string
		s    toolset.Sources
		want string
	}{
		{"no corpus", toolset.Sources{}, "give --index, --search or --replay"},
		{"pages for a text preset", toolset.Sources{Local: local, Pages: "pages"}, "--pages and --image-chat"},
		{"image chat for a text preset", toolset.Sources{Local: local, ImageChat: true}, "--pages and --image-chat"},
		{"the index fails", toolset.Sources{Local: func() (search.Retriever, func(), error) { return nil, nil, broken }}, "index broken"},
	} {
		if _, err := toolset.New().Open(searchr1, nil, tc.s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	r, closeFn, err := toolset.Sources{}.Corpus()
	if err != nil || r != nil {
		t.Fatalf("no sources: %v, %v", r, err)
	}
	closeFn()
	words := searchtest.Words{corpus.Passage{ID: "1", Text: "x"}}
	r, _, err = toolset.Sources{Local: func() (search.Retriever, func(), error) { return words, func() {}, nil }}.Corpus()
	if err != nil || r == nil {
		t.Fatalf("local: %v, %v", r, err)
	}
	if _, _, err := (toolset.Sources{Replay: t.TempDir() + "/none"}).Corpus(); err == nil {
		t.Error("replay of a missing snapshot: no error")
	}
}
