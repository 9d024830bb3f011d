package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/backend"
	"github.com/sleuth-research/sleuth/toolset"
)

// toolFlags choose where an agent searches and whether it browses.
type toolFlags struct {
	index, search, record, replay, fetchCache string
	browse, allowLoopback                     bool
	guard                                     string // --guard: "" keeps the preset's (toolset.Sources.Guard)

	// Page images (presets with a region action: vrag).
	pages                string
	pageSide             int
	imageOnly, imageChat bool

	// deny, when set, is the leakage guard for web search results and
	// fetches (eval sets it).
	deny *guard.DenyList

	dense denseFlags // --retriever dense|hybrid (dense.go)
}

func (f *toolFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.index, "index", "", "BM25 index directory to search (sharded or not), or es:URL/INDEX, os:URL/INDEX (Elasticsearch, OpenSearch)")
	fl.StringVar(&f.search, "search", "", "web search instead of an index: searxng:URL, brave, serper or tavily (API keys from BRAVE_API_KEY, SERPER_API_KEY, TAVILY_API_KEY)")
	fl.StringVar(&f.record, "record", "", "record every web search result into this snapshot directory")
	fl.StringVar(&f.replay, "replay", "", "answer web searches from this snapshot alone (fails on anything not recorded)")
	fl.BoolVar(&f.browse, "browse", false, "give the agent the browse tool (pages fetched safely, read by a browsing sub-agent)")
	fl.BoolVar(&f.allowLoopback, "allow-loopback", false, "let the browser fetch 127.0.0.1/::1 (the simulated web); private ranges stay refused")
	fl.StringVar(&f.fetchCache, "fetch-cache", "", "cache fetched pages in this directory")
	fl.StringVar(&f.pages, "pages", "", "directory of page images (PNG/JPEG, optional NAME.txt text beside each) for presets that look at pages (vrag); without it --index passages are rendered as pages")
	fl.IntVar(&f.pageSide, "page-side", agent.DefaultMaxSide, "longer side in pixels of page images and zoomed crops shown to the policy")
	fl.BoolVar(&f.imageOnly, "image-only", false, "show pages and crops as images only, without their text (for vision models)")
	fl.BoolVar(&f.imageChat, "image-chat", false, "send prompts as chat messages with the page images attached (OpenAI vision format; needs a vision chat model)")
	fl.StringVar(&f.guard, "guard", "", "prompt-injection guard over untrusted text: off, annotate, quote or drop (default: the preset's; annotate when the preset sets none and the agent reads the web: --search, --replay or --browse)")
	f.dense.register(fl)
}

// sources are the flags' toolset.Sources.
func (f *toolFlags) sources() toolset.Sources {
	s := toolset.Sources{Search: f.search, Record: f.record, Replay: f.replay, Browse: f.browse, AllowLoopback: f.allowLoopback,
		FetchCache: f.fetchCache, Pages: f.pages, PageSide: f.pageSide, ImageOnly: f.imageOnly, ImageChat: f.imageChat,
		Guard: f.guard, Deny: f.deny}
	if f.index != "" || f.denseKind() {
		s.Local = f.local
	}
	return s
}

// denseKind says --retriever names a dense or hybrid index.
func (f *toolFlags) denseKind() bool {
	return f.dense.retriever != "" && f.dense.retriever != backend.BM25
}

// local opens the index --index and --retriever name.
func (f *toolFlags) local() (search.Retriever, func(), error) {
	if f.denseKind() {
		if f.search != "" {
			return nil, nil, fmt.Errorf("--retriever %s searches local indexes, not --search", f.dense.retriever)
		}
		return f.dense.open(f.index)
	}
	if f.search != "" {
		return nil, nil, errors.New("give --index or --search, not both")
	}
	ix, err := backend.OpenIndex(context.Background(), f.index)
	if err != nil {
		return nil, nil, err
	}
	return ix, ix.Close, nil
}

// system builds preset p over what the flags name into a runner for
// policy pol (nil for servers that hold no model), through the tool
// registry (toolset.Registry.Open). The closer releases what was opened.
func (f *toolFlags) system(p agent.Preset, pol llm.Client) (*agent.Runner, func(), error) {
	sys, err := toolset.New().Open(p, pol, f.sources())
	if err != nil {
		return nil, nil, err
	}
	return sys.Runner, sys.Close, nil
}

// newSystem opens the policy and builds preset p over the flags' tools
// (toolset.Registry.Open), its prompts carrying page images under
// --image-chat.
func newSystem(p agent.Preset, lf *llmFlags, tf *toolFlags) (*toolset.System, error) {
	pol, err := lf.open()
	if err != nil {
		return nil, err
	}
	sys, err := toolset.New().Open(p, pol, tf.sources())
	if err != nil {
		return nil, err
	}
	if tf.imageChat {
		sys.Runner.Policy = agent.ImageChat{Client: pol}
	}
	return sys, nil
}

// loadPreset reads a preset, checking its tool and reward names against
// the tool registry and the reward presets.
func loadPreset(nameOrPath string) (agent.Preset, error) {
	return toolset.New().Load(nameOrPath)
}
