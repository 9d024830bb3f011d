package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/web"
	"github.com/sleuth-research/sleuth/world"
)

// webFlags choose the world and how the simulated web serves it.
type webFlags struct {
	worldDir  string
	seed      int64
	entities  int
	questions int
	cfg       web.Config
}

// newWebCmd groups the simulated web's commands.
func newWebCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "web",
		Short: "The simulated web: a synthetic world served as a website with SearXNG-format search",
	}
	cmd.AddCommand(newWebServeCmd(), newWebPagesCmd())
	return cmd
}

func (f *webFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.worldDir, "world", "", "world directory written by `sleuth world` (default: generate one from --seed)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the world to generate when --world is not given")
	fl.IntVar(&f.entities, "entities", world.DefaultEntities, "real entities of the generated world")
	fl.IntVar(&f.questions, "questions", world.DefaultQuestions, "questions of the generated world (fewer for small worlds)")
	fl.StringVar(&f.cfg.IndexDir, "index", "", "search index directory: reused if it holds this world's index, built otherwise (default: a temporary one)")
	fl.DurationVar(&f.cfg.SlowDelay, "slow-delay", web.DefaultSlowDelay, "how long slow pages wait before answering")
	fl.StringVar(&f.cfg.BaseURL, "base-url", "", "URL prefix of search results (default: http:// and the request's Host)")
	fl.IntVar(&f.cfg.PerPage, "per-page", web.DefaultPerPage, "search results per page")
}

// site loads or generates the world and builds the site.
func (f *webFlags) site(cmd *cobra.Command) (*web.Site, error) {
	var (
		w   *world.World
		err error
	)
	switch {
	case f.worldDir != "" && (cmd.Flags().Changed("seed") || cmd.Flags().Changed("entities") || cmd.Flags().Changed("questions")):
		return nil, errors.New("web: give --world DIR or --seed/--entities/--questions, not both")
	case f.worldDir != "":
		w, err = world.Load(f.worldDir)
	default:
		w, err = world.Generate(world.Config{Seed: f.seed, Entities: f.entities, Questions: f.questions})
	}
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := web.New(w, f.cfg)
	if err != nil {
		return nil, err
	}
	slog.Info("web: site ready", "seed", w.Seed, "pages", len(s.Pages()), "poisoned", len(s.Poisoned()),
		"slow", len(s.Slow()), "long", len(s.Long()), "dead_links", len(s.DeadLinks()), "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

func newWebServeCmd() *cobra.Command {
	var (
		f     webFlags
		addr  string
		guard guardFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the world as a website over HTTP",
		Long: `Serve a world as a website: one page per entity at /wiki/<slug>, hub pages
at /topic/<country> and /list/<type>, search at /search?q=...&format=json in
SearXNG's JSON format (or format=html), /robots.txt and /healthz.

Pages carry realistic noise chosen deterministically from the seed: cookie
banners, navigation, ads, infoboxes, related links (some dead), long pages
that bury their facts, redirects from aliases and short links, slow pages,
and a few pages with prompt injections in visible and hidden text. The same
world always serves the same bytes. See 'sleuth web pages' for which page
carries what.`,
		Example: `  sleuth web serve --seed 1 --addr 127.0.0.1:8080
  sleuth web serve --world /tmp/world --index /tmp/world-web-index
  curl '127.0.0.1:8080/search?q=founder+of+Varnel+Labs&format=json'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gc, err := guard.config("/healthz", "/robots.txt")
			if err != nil {
				return err
			}
			s, err := f.site(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			return serveHTTP(cmd.Context(), addr, s, cmd, gc)
		},
	}
	f.register(cmd)
	guard.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return cmd
}

func newWebPagesCmd() *cobra.Command {
	var f webFlags
	cmd := &cobra.Command{
		Use:   "pages",
		Short: "Print every page of the simulated web and its planted noise, one JSON object a line",
		Long: `Print one JSON object per page: path, kind, title, entity id, layout
(plain, long, split), the byte offset of its first fact, whether it is slow,
its dead links and its injections (kind, hidden, the instruction, the exact
markup). Fetcher and guard tests check what they read against this.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.cfg.SlowDelay = 0
			s, err := f.site(cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			for _, p := range s.Pages() {
				if err := writeJSON(cmd.OutOrStdout(), p); err != nil {
					return fmt.Errorf("write pages: %w", err)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
