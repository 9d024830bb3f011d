package train

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	websearch "github.com/sleuth-research/sleuth/search/web"
	"github.com/sleuth-research/sleuth/toolset"
	"github.com/sleuth-research/sleuth/vision"
	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// episodeTools is the tool set of the run's episodes (teacher, RL, the
// recipe's evaluation) over ix, the index of world w: the preset's own
// tools as the registry builds them for every command, so VRAG's page
// search renders ix's passages as pages and crops them. A preset that
// browses (DeepResearcher) gets w's simulated web instead, served on
// loopback: its search endpoint is the search tool and its pages are what
// the browse tool opens, read by the oracle's browsing sub-agent (see
// rl.Oracle.Browser). browses says the tools include browse. The closer
// stops what was started.
func (r *Run) episodeTools(ix *bm25.Index, w *world.World) (tools map[string]agent.Tool, browses bool, closer func(), err error) {
	deps, closer := toolset.Deps{Retriever: ix}, func() {}
	if r.preset.HasTool(agent.ToolBrowse) {
		if w == nil {
			return nil, false, nil, fmt.Errorf("preset %s browses the simulated web of one world: set world.count to 1", r.preset.Name)
		}
		sw, err := serveWeb(w)
		if err != nil {
			return nil, false, nil, fmt.Errorf("the simulated web: %w", err)
		}
		deps.Retriever, deps.Fetcher, closer = sw.search, sw.fetch, sw.Close
		deps.Policy = rl.NewOracle(r.preset, w.Questions, r.tok.Encode, r.tok.Decode).Browser()
	}
	tools, _, err = toolset.New().Tools(&r.preset, deps) // the built-in tools open nothing to close
	if err != nil {
		closer()
		return nil, false, nil, fmt.Errorf("the run's tools: %w", err)
	}
	_, browses = tools[agent.ToolBrowse]
	return tools, browses, closer, nil
}

// oneWorld is ws's world when there is one (the world a simulated web
// serves), nil otherwise.
func oneWorld(ws []*world.World) *world.World {
	if len(ws) == 1 {
		return ws[0]
	}
	return nil
}

// simWeb is a world's simulated web served on loopback, with the SearXNG
// client that searches it and the fetcher that opens its pages (the
// components `sleuth ask --browse` uses against a real one).
type simWeb struct {
	site   *web.Site
	srv    *http.Server
	search *websearch.Client
	fetch  *fetch.Client
}

func serveWeb(w *world.World) (*simWeb, error) {
	site, err := web.New(w, web.Config{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		site.Close()
		return nil, err
	}
	sw := &simWeb{site: site, srv: &http.Server{Handler: site}}
	go sw.srv.Serve(ln) // returns when Close closes it; a failure before shows as failed requests
	base := "http://" + ln.Addr().String()
	if sw.search, err = websearch.New(websearch.SearXNG, websearch.Config{BaseURL: base, QPS: -1, Concurrency: 16}); err == nil {
		sw.fetch, err = fetch.New(fetch.Config{AllowLoopback: true, NoRateLimit: true})
	}
	if err != nil {
		sw.Close()
		return nil, err
	}
	return sw, nil
}

// Close stops the server and releases the site's index.
func (s *simWeb) Close() {
	s.srv.Close()
	if s.fetch != nil {
		s.fetch.Close()
	}
	s.site.Close()
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
