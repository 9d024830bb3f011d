package toolset

import (
	"fmt"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/vision"
)

// searchOptions: pages shows page images (VRAG) instead of passages.
type searchOptions struct {
	Pages bool `yaml:"pages"`
}

// SearchesPages reports whether p's search tool shows page images
// (VRAG's search with pages: true), so that a command knows to offer page
// images to it.
func SearchesPages(p agent.Preset) bool {
	for _, t := range p.Tools {
		var o searchOptions
		if t.Name == agent.ToolSearch && Options(t.Options).Decode(&o) == nil && o.Pages {
			return true
		}
	}
	return false
}

// buildSearch is the search tool over the command's corpus or, with
// pages, page search over its page images (or the corpus's passages
// rendered as pages).
func buildSearch(env *Env, opts Options) (agent.Tool, error) {
	var o searchOptions
	if err := opts.Decode(&o); err != nil {
		return nil, err
	}
	if !o.Pages {
		r, err := env.Corpus()
		if err != nil {
			return nil, err
		}
		return agent.SearchTool{R: r}, nil
	}
	if env.Pages != nil {
		return agent.PageSearchTool{R: env.Pages, Pages: env.Pages, MaxSide: env.PageSide, ImageOnly: env.ImageOnly}, nil
	}
	r, err := env.Corpus()
	if err != nil {
		return nil, fmt.Errorf("%w: no page images and no corpus to render as pages", ErrUnavailable)
	}
	return agent.PageSearchTool{R: r, Pages: vision.Renderer{}, MaxSide: env.PageSide, ImageOnly: env.ImageOnly}, nil
}

// buildCrop is VRAG's region action.
func buildCrop(env *Env, opts Options) (agent.Tool, error) {
	if err := opts.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return agent.CropTool{MaxSide: env.PageSide, ImageOnly: env.ImageOnly}, nil
}

// browseOptions are the browsing sub-agent's reading limits (zero: its
// defaults).
type browseOptions struct {
	SegmentChars int `yaml:"segment_chars"`
	MaxSegments  int `yaml:"max_segments"`
	MaxTokens    int `yaml:"max_tokens"`
}

// buildBrowse is DeepResearcher's browser: pages through the command's
// fetcher, read by the policy, guarded as the preset guards.
func buildBrowse(env *Env, opts Options) (agent.Tool, error) {
	var o browseOptions
	if err := opts.Decode(&o); err != nil {
		return nil, err
	}
	if env.Fetcher == nil {
		return nil, fmt.Errorf("%w: no fetcher to browse with", ErrUnavailable)
	}
	return agent.BrowseTool{Fetch: env.Fetcher, LLM: env.Policy, Guard: env.Preset.Guard,
		SegmentChars: o.SegmentChars, MaxSegments: o.MaxSegments, MaxTokens: o.MaxTokens}, nil
}
