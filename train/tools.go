package train

import (
	"context"
	"fmt"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/toolset"
	"github.com/sleuth-research/sleuth/vision"
)

// episodeTools is the tool set of the run's episodes (teacher, RL, the
// recipe's evaluation) over ix: the preset's own tools as the registry
// builds them for every command, so VRAG's page search renders ix's
// passages as pages and crops them. deps adds what a tool needs beyond the
// corpus (DeepResearcher's fetcher and browser); a tool the preset marks
// optional is left out without it.
func (r *Run) episodeTools(ix *bm25.Index, deps toolset.Deps) (map[string]agent.Tool, error) {
	deps.Retriever = ix
	tools, _, err := toolset.New().Tools(&r.preset, deps) // the built-in tools open nothing to close
	if err != nil {
		return nil, fmt.Errorf("the run's tools: %w", err)
	}
	return tools, nil
}

// renderedPages finds a passage of ix by id and renders it as page search
// does (vision.Renderer's defaults, toolset's search with pages): the
// pages the VRAG teacher reads the layout of.
func renderedPages(ix *bm25.Index) rl.PageSource {
	var once sync.Once
	var byID map[string]uint32
	return func(ctx context.Context, id string) (*vision.Page, error) {
		once.Do(func() {
			byID = make(map[string]uint32, ix.Len())
			for d := range uint32(ix.Len()) {
				byID[ix.ID(d)] = d
			}
		})
		d, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("no passage %s in the index", id)
		}
		p, err := ix.Passage(d)
		if err != nil {
			return nil, err
		}
		return vision.Renderer{}.Page(ctx, p)
	}
}
