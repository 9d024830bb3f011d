package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/search/backend"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	sweb "github.com/sleuth-research/sleuth/search/web"
	"github.com/sleuth-research/sleuth/toolset"
	"github.com/sleuth-research/sleuth/vision"
)

// toolFlags choose where an agent searches and whether it browses.
type toolFlags struct {
	index, search, record, replay, fetchCache string
	browse, allowLoopback                     bool
	guard                                     string // --guard: "" keeps the preset's (see applyGuard)

	// Page images (presets with a region action: vrag).
	pages                string
	pageSide             int
	imageOnly, imageChat bool

	snap *sweb.Snapshot // the record or replay snapshot, once opened

	// deny, when set, is the leakage guard for web search results and
	// fetches (eval sets it); denied and deniedFetch count what it blocked.
	deny        *guard.DenyList
	denied      *sweb.Denied
	deniedFetch *agent.DeniedFetcher

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

// applyGuard sets p's guard from --guard, or turns it on (annotate) for an
// agent that reads the web under a preset that sets none: web pages and
// search snippets are written by strangers.
func (f *toolFlags) applyGuard(p *agent.Preset) error {
	switch m := guard.Mode(f.guard); {
	case f.guard == "off":
		p.Guard = guard.Off
	case m == guard.Annotate || m == guard.Quote || m == guard.Drop:
		p.Guard = m
	case f.guard != "":
		return fmt.Errorf("--guard %q: want off, annotate, quote or drop", f.guard)
	case p.Guard == guard.Off && (f.search != "" || f.replay != "" || f.browse):
		p.Guard = guard.Annotate
	}
	return nil
}

// system builds preset p over what the flags name into a runner for
// policy pol (nil for servers that hold no model): the guard set as
// applyGuard says, the browse tool added by --browse, every tool built by
// the tool registry. The closer releases what was opened.
func (f *toolFlags) system(p agent.Preset, pol llm.Client) (*agent.Runner, func(), error) {
	if err := f.applyGuard(&p); err != nil {
		return nil, nil, err
	}
	pages := toolset.SearchesPages(p)
	if !pages && (f.pages != "" || f.imageChat) {
		return nil, nil, fmt.Errorf("preset %s has no region action: --pages and --image-chat are for presets that look at pages (vrag)", p.Name)
	}
	if f.browse && !p.HasTool(agent.ToolBrowse) {
		p.Tools = append(slices.Clone(p.Tools), agent.ToolSpec{Name: agent.ToolBrowse})
	}
	deps, closeDeps, err := f.deps(&p, pol, pages)
	if err != nil {
		return nil, nil, err
	}
	r, closeTools, err := toolset.New().Runner(p, deps)
	if err != nil {
		closeDeps()
		return nil, nil, err
	}
	return r, func() { closeTools(); closeDeps() }, nil
}

// deps opens what p's tools read: the corpus (an index, a web provider, a
// replayed snapshot) when p searches, page images, and the browser's
// fetcher.
func (f *toolFlags) deps(p *agent.Preset, pol llm.Client, pages bool) (toolset.Deps, func(), error) {
	d := toolset.Deps{Policy: pol, PageSide: f.pageSide, ImageOnly: f.imageOnly}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var r search.Retriever
	switch {
	case pages && f.pages != "":
		if f.index != "" || f.search != "" || f.replay != "" {
			return d, nil, fmt.Errorf("preset %s: give --pages or a text corpus (--index, --search, --replay), not both", p.Name)
		}
		dir, err := vision.OpenDir(f.pages)
		if err != nil {
			return d, nil, err
		}
		d.Pages = dir
	case p.HasTool(agent.ToolSearch):
		var c func()
		var err error
		if r, c, err = f.retriever(); err != nil {
			return d, nil, err
		}
		closers = append(closers, c)
		switch {
		case r == nil && pages:
			closeAll()
			return d, nil, fmt.Errorf("preset %s: give --pages DIR, or --index to search passages rendered as pages", p.Name)
		case r == nil:
			closeAll()
			return d, nil, fmt.Errorf("preset %s searches: give --index, --search or --replay", p.Name)
		case !pages && f.deny != nil && (f.search != "" || f.replay != ""): // the web, not a local index
			f.denied = &sweb.Denied{R: r, List: f.deny}
			r = f.denied
		}
	}
	d.Retriever = r
	if f.browse {
		fetcher, c, err := f.fetcher()
		if err != nil {
			closeAll()
			return d, nil, err
		}
		closers = append(closers, c)
		d.Fetcher = fetcher
	}
	return d, closeAll, nil
}

// fetcher is --browse's fetcher: the replayed snapshot, or safe fetching
// (recorded into the snapshot under --record), behind the leakage guard
// when eval set one.
func (f *toolFlags) fetcher() (agent.Fetcher, func(), error) {
	var fetcher agent.Fetcher
	closeFn := func() {}
	if f.snap != nil && f.replay != "" {
		fetcher = agent.ReplayFetcher{Store: f.snap}
	} else {
		fc, err := fetch.New(fetch.Config{AllowLoopback: f.allowLoopback, CacheDir: f.fetchCache})
		if err != nil {
			return nil, nil, err
		}
		closeFn = func() { fc.Close() }
		fetcher = fc
		if f.snap != nil {
			fetcher = agent.RecordingFetcher{Inner: fc, Store: f.snap}
		}
	}
	if f.deny != nil {
		f.deniedFetch = &agent.DeniedFetcher{Inner: fetcher, List: f.deny}
		fetcher = f.deniedFetch
	}
	return fetcher, closeFn, nil
}

func (f *toolFlags) retriever() (search.Retriever, func(), error) {
	if f.replay != "" {
		snap, err := sweb.OpenSnapshot(f.replay)
		if err != nil {
			return nil, nil, err
		}
		f.snap = snap
		return sweb.NewReplayer(sweb.SpecProvider(f.search), snap), func() { snap.Close() }, nil
	}
	if f.dense.retriever != "" && f.dense.retriever != backend.BM25 {
		if f.search != "" {
			return nil, nil, fmt.Errorf("--retriever %s searches local indexes, not --search", f.dense.retriever)
		}
		return f.dense.open(f.index)
	}
	switch {
	case f.index != "" && f.search != "":
		return nil, nil, errors.New("give --index or --search, not both")
	case f.index != "":
		ix, err := backend.OpenIndex(context.Background(), f.index)
		if err != nil {
			return nil, nil, err
		}
		return ix, ix.Close, nil
	case f.search == "":
		return nil, func() {}, nil
	}
	c, err := sweb.FromSpec(f.search, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if f.record == "" {
		return c, func() {}, nil
	}
	snap, err := sweb.CreateSnapshot(f.record)
	if err != nil {
		return nil, nil, err
	}
	f.snap = snap
	return sweb.NewRecorder(c.Name(), c, snap), func() { snap.Close() }, nil
}

// newRunner opens the policy and builds preset p over the flags' tools
// (toolFlags.system).
func newRunner(p agent.Preset, lf *llmFlags, tf *toolFlags) (*agent.Runner, func(), error) {
	pol, err := lf.open()
	if err != nil {
		return nil, nil, err
	}
	r, closeTools, err := tf.system(p, pol)
	if err != nil {
		return nil, nil, err
	}
	if tf.imageChat {
		r.Policy = agent.ImageChat{Client: pol}
	}
	return r, closeTools, nil
}

// loadPreset reads a preset, checking its tool and reward names against
// the tool registry and the reward presets.
func loadPreset(nameOrPath string) (agent.Preset, error) {
	return toolset.New().Load(nameOrPath)
}
