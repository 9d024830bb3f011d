package toolset

import (
	"fmt"
	"os"
	"slices"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	sweb "github.com/sleuth-research/sleuth/search/web"
	"github.com/sleuth-research/sleuth/vision"
)

// Sources name what a system's tools read, as the commands that run
// presets (ask, eval, serve, mcp, atropos, the rollout harnesses) take
// them: a corpus (a local index, a web search provider, a recorded
// snapshot), page images, and the browser's fetcher. Errors name those
// commands' flags (--index, --search, --replay, --pages, --image-chat,
// --guard), since that is where a user sets each field.
type Sources struct {
	// Local opens the local index the command names (BM25, dense or
	// hybrid); nil when it names none.
	Local func() (search.Retriever, func(), error)
	// Search is a web search spec (search/web.FromSpec), its API key
	// from the environment.
	Search string
	// Record records every web search result, and every page the browser
	// fetches, into this snapshot directory; Replay answers both from one
	// alone. Replay wins over Local and Search.
	Record, Replay string
	// Browse gives the agent the browse tool; its fetcher may reach
	// loopback with AllowLoopback and caches pages in FetchCache.
	Browse, AllowLoopback bool
	FetchCache            string
	// Pages is a directory of page images for presets that search pages
	// (vrag); without it the corpus's passages are rendered as pages.
	// PageSide and ImageOnly are as in Deps.
	Pages     string
	PageSide  int
	ImageOnly bool
	// ImageChat says the caller sends page images in chat messages: only
	// presets that search pages take it.
	ImageChat bool
	// Guard is the prompt-injection guard: off, annotate, quote or drop;
	// empty keeps the preset's, or annotate when the preset sets none
	// and the agent reads the web (Search, Replay or Browse).
	Guard string
	// Deny, when set, is the leakage guard over web search results and
	// fetches (evaluations set it).
	Deny *guard.DenyList
}

// System is a preset built over Sources.
type System struct {
	Runner *agent.Runner
	// Close releases the tools and what was opened for them.
	Close func()

	deny        *guard.DenyList
	denied      *sweb.Denied
	deniedFetch *agent.DeniedFetcher
}

// Leakage reports what the leakage guard blocked; nil when no web tool
// ran under it.
func (s *System) Leakage() *eval.LeakageGuard {
	if s.deny == nil || (s.denied == nil && s.deniedFetch == nil) {
		return nil
	}
	g := &eval.LeakageGuard{Rules: s.deny.Len()}
	if s.denied != nil {
		g.BlockedResults = s.denied.Blocked()
	}
	if s.deniedFetch != nil {
		g.BlockedFetches = s.deniedFetch.Blocked()
	}
	return g
}

// applyGuard sets p's guard from s.Guard, or turns it on (annotate) for
// an agent that reads the web under a preset that sets none: web pages
// and search snippets are written by strangers.
func (s Sources) applyGuard(p *agent.Preset) error {
	switch m := guard.Mode(s.Guard); {
	case s.Guard == "off":
		p.Guard = guard.Off
	case m == guard.Annotate || m == guard.Quote || m == guard.Drop:
		p.Guard = m
	case s.Guard != "":
		return fmt.Errorf("--guard %q: want off, annotate, quote or drop", s.Guard)
	case p.Guard == guard.Off && (s.Search != "" || s.Replay != "" || s.Browse):
		p.Guard = guard.Annotate
	}
	return nil
}

// Open builds preset p over s into a system for policy pol (nil for
// servers that hold no model): the guard set as applyGuard says, the
// browse tool added by Browse, every tool built by the registry r.
func (r *Registry) Open(p agent.Preset, pol llm.Client, s Sources) (*System, error) {
	if err := s.applyGuard(&p); err != nil {
		return nil, err
	}
	pages := SearchesPages(p)
	if !pages && (s.Pages != "" || s.ImageChat) {
		return nil, fmt.Errorf("preset %s has no region action: --pages and --image-chat are for presets that look at pages (vrag)", p.Name)
	}
	if s.Browse && !p.HasTool(agent.ToolBrowse) {
		p.Tools = append(slices.Clone(p.Tools), agent.ToolSpec{Name: agent.ToolBrowse})
	}
	sys := &System{deny: s.Deny}
	deps, closeDeps, err := s.deps(&p, pol, pages, sys)
	if err != nil {
		return nil, err
	}
	runner, closeTools, err := r.Runner(p, deps)
	if err != nil {
		closeDeps()
		return nil, err
	}
	sys.Runner, sys.Close = runner, func() { closeTools(); closeDeps() }
	return sys, nil
}

// deps opens what p's tools read: the corpus when p searches, page
// images, and the browser's fetcher; sys records the leakage guard's
// filters.
func (s Sources) deps(p *agent.Preset, pol llm.Client, pages bool, sys *System) (Deps, func(), error) {
	d := Deps{Policy: pol, PageSide: s.PageSide, ImageOnly: s.ImageOnly}
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var snap *sweb.Snapshot
	var r search.Retriever
	switch {
	case pages && s.Pages != "":
		if s.Local != nil || s.Search != "" || s.Replay != "" {
			return d, nil, fmt.Errorf("preset %s: give --pages or a text corpus (--index, --search, --replay), not both", p.Name)
		}
		dir, err := vision.OpenDir(s.Pages)
		if err != nil {
			return d, nil, err
		}
		d.Pages = dir
	case p.HasTool(agent.ToolSearch):
		var c func()
		var err error
		if r, snap, c, err = s.corpus(); err != nil {
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
		case !pages && s.Deny != nil && (s.Search != "" || s.Replay != ""): // the web, not a local index
			sys.denied = &sweb.Denied{R: r, List: s.Deny}
			r = sys.denied
		}
	}
	d.Retriever = r
	if s.Browse {
		fetcher, c, err := s.fetcher(snap, sys)
		if err != nil {
			closeAll()
			return d, nil, err
		}
		closers = append(closers, c)
		d.Fetcher = fetcher
	}
	return d, closeAll, nil
}

// fetcher is the browser's fetcher: the replayed snapshot, or safe
// fetching (recorded into snap under Record), behind the leakage guard
// when there is one.
func (s Sources) fetcher(snap *sweb.Snapshot, sys *System) (agent.Fetcher, func(), error) {
	var fetcher agent.Fetcher
	closeFn := func() {}
	if snap != nil && s.Replay != "" {
		fetcher = agent.ReplayFetcher{Store: snap}
	} else {
		fc, err := fetch.New(fetch.Config{AllowLoopback: s.AllowLoopback, CacheDir: s.FetchCache})
		if err != nil {
			return nil, nil, err
		}
		closeFn = func() { fc.Close() }
		fetcher = fc
		if snap != nil {
			fetcher = agent.RecordingFetcher{Inner: fc, Store: snap}
		}
	}
	if s.Deny != nil {
		sys.deniedFetch = &agent.DeniedFetcher{Inner: fetcher, List: s.Deny}
		fetcher = sys.deniedFetch
	}
	return fetcher, closeFn, nil
}

// Corpus opens the corpus s names: the replayed snapshot, the local
// index, or the web search provider (recorded under Record); nil when s
// names none. The closer releases it.
func (s Sources) Corpus() (search.Retriever, func(), error) {
	r, _, c, err := s.corpus()
	return r, c, err
}

// corpus is Corpus with the snapshot it opened, which the browser's
// fetcher records into or replays from.
func (s Sources) corpus() (search.Retriever, *sweb.Snapshot, func(), error) {
	if s.Replay != "" {
		snap, err := sweb.OpenSnapshot(s.Replay)
		if err != nil {
			return nil, nil, nil, err
		}
		return sweb.NewReplayer(sweb.SpecProvider(s.Search), snap), snap, func() { snap.Close() }, nil
	}
	switch {
	case s.Local != nil:
		r, c, err := s.Local()
		return r, nil, c, err
	case s.Search == "":
		return nil, nil, func() {}, nil
	}
	c, err := sweb.FromSpec(s.Search, os.Getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	if s.Record == "" {
		return c, nil, func() {}, nil
	}
	snap, err := sweb.CreateSnapshot(s.Record)
	if err != nil {
		return nil, nil, nil, err
	}
	return sweb.NewRecorder(c.Name(), c, snap), snap, func() { snap.Close() }, nil
}
