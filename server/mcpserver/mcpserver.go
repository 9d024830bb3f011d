// Package mcpserver offers sleuth's search, fetch and research to MCP hosts
// (agent apps, IDEs, other agents) through the official Go SDK, over stdio
// or streamable HTTP:
//
//   - search: passages from the configured retriever, with scores and URLs;
//   - fetch: one page through the SSRF-safe fetch package, as the text an
//     agent may read (hidden text removed);
//   - research: a whole agent episode; each of its events is a progress
//     notification (message: a line for people; _meta "sleuth/event": the
//     record in agent/events.schema.json), and cancelling the call cancels
//     the episode.
//
// With a runs directory, the files of its runs (reports, summaries,
// metrics, traces) are resources: sleuth://runs/RUN/FILE.
//
// A bad argument is a tool error (isError) that names it, so the calling
// model can correct itself.
package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/server/agentapi"
)

// Fetcher fetches one untrusted URL; *fetch.Client is one.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*fetch.Page, error)
}

// Config says what the server offers. A nil Retriever, nil Fetcher or no
// Systems leaves that tool out.
type Config struct {
	Retriever search.Retriever
	Fetcher   Fetcher
	// Systems are the presets research may run; the first is the default.
	Systems []agentapi.System
	Limits  agentapi.Limits // caps on a research call's budget
	MaxK    int             // most passages one search returns (default 20)
	// MaxPageChars bounds the text fetch returns (default 100,000).
	MaxPageChars int
	// Runs, when set, is a runs directory whose reports, summaries,
	// metrics and traces are offered as resources (sleuth://runs/RUN/FILE).
	Runs    string
	Version string       // reported to clients (default "dev")
	Logger  *slog.Logger // default slog.Default()
}

func (c Config) withDefaults() Config {
	if c.MaxK <= 0 {
		c.MaxK = 20
	}
	if c.MaxPageChars <= 0 {
		c.MaxPageChars = 100_000
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// New returns an MCP server with the tools cfg configures. Serve it with
// its Run method (mcp.StdioTransport) or mcp.NewStreamableHTTPHandler.
func New(cfg Config) (*mcp.Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Retriever == nil && cfg.Fetcher == nil && len(cfg.Systems) == 0 && cfg.Runs == "" {
		return nil, errors.New("mcpserver: nothing to offer: no retriever, fetcher, research system or runs")
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "sleuth", Title: "sleuth research tools", Version: cfg.Version}, nil)
	if cfg.Runs != "" {
		if err := addResources(s, cfg.Runs); err != nil {
			return nil, err
		}
	}
	t := &tools{cfg: cfg, systems: map[string]*agentapi.System{}}
	if cfg.Retriever != nil {
		mcp.AddTool(s, &mcp.Tool{Name: "search", Title: "Search passages",
			Description: fmt.Sprintf("Search the configured corpus and return up to k passages (default 5, at most %d), best first, with ids, titles, text, scores and URLs where known.", cfg.MaxK)}, t.search)
	}
	if cfg.Fetcher != nil {
		mcp.AddTool(s, &mcp.Tool{Name: "fetch", Title: "Fetch a web page",
			Description: "Fetch one http(s) URL safely (no private, loopback or metadata addresses unless the server allows them; robots.txt honoured; size and time limits) and return the page's visible main text, title and links. Hidden text is removed."}, t.fetch)
	}
	if len(cfg.Systems) > 0 {
		var names []string
		for i := range cfg.Systems {
			sys := &cfg.Systems[i]
			t.systems[sys.Preset.Name] = sys
			names = append(names, sys.Preset.Name)
		}
		t.def = names[0]
		mcp.AddTool(s, &mcp.Tool{Name: "research", Title: "Research a question",
			Description: fmt.Sprintf("Run a research agent on a question: it searches, reads and answers with the passages it rests on. Presets: %s (default %s). Progress notifications report each search and turn; cancelling the call stops the agent.", strings.Join(names, ", "), names[0])}, t.research)
	}
	return s, nil
}

type tools struct {
	cfg     Config
	systems map[string]*agentapi.System
	def     string
}

// SearchArgs are the search tool's arguments.
type SearchArgs struct {
	Query string `json:"query" jsonschema:"what to search for"`
	K     int    `json:"k,omitempty" jsonschema:"passages wanted (default 5)"`
}

// Passage is one search result.
type Passage struct {
	ID    string  `json:"id"`
	Title string  `json:"title,omitempty"`
	Text  string  `json:"text"`
	Score float64 `json:"score"`
	URL   string  `json:"url,omitempty"`
}

// SearchResult is the search tool's structured result.
type SearchResult struct {
	Passages []Passage `json:"passages"`
}

func (t *tools) search(ctx context.Context, _ *mcp.CallToolRequest, in SearchArgs) (*mcp.CallToolResult, SearchResult, error) {
	q := strings.TrimSpace(in.Query)
	k := in.K
	switch {
	case q == "":
		return nil, SearchResult{}, errors.New("query: must not be empty")
	case len(q) > 1024:
		return nil, SearchResult{}, fmt.Errorf("query: %d bytes; at most 1024", len(q))
	case k == 0:
		k = 5
	case k < 0 || k > t.cfg.MaxK:
		return nil, SearchResult{}, fmt.Errorf("k: must be between 1 and %d, got %d", t.cfg.MaxK, k)
	}
	res, err := t.cfg.Retriever.Search(ctx, []string{q}, k)
	if err != nil {
		return nil, SearchResult{}, fmt.Errorf("searching %q: %w", q, err)
	}
	out := SearchResult{Passages: []Passage{}}
	var text strings.Builder
	if len(res) == 1 {
		for i, h := range res[0] {
			p := h.Passage
			out.Passages = append(out.Passages, Passage{ID: p.ID, Title: p.Title, Text: p.Text, Score: h.Score, URL: p.Meta["url"]})
			fmt.Fprintf(&text, "[%d] %s (id %s, score %.3f)\n%s\n\n", i+1, p.Title, p.ID, h.Score, p.Text)
		}
	}
	if len(out.Passages) == 0 {
		text.WriteString("No passages found.")
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text.String()}}}, out, nil
}

// FetchArgs are the fetch tool's arguments.
type FetchArgs struct {
	URL string `json:"url" jsonschema:"the http(s) URL to read"`
}

// PageResult is the fetch tool's structured result.
type PageResult struct {
	URL       string       `json:"url"`
	FinalURL  string       `json:"final_url"`
	Status    int          `json:"status"`
	Title     string       `json:"title"`
	Text      string       `json:"text"`
	Links     []fetch.Link `json:"links,omitempty"`
	Truncated bool         `json:"truncated"` // the page or its text was cut at a limit
}

func (t *tools) fetch(ctx context.Context, _ *mcp.CallToolRequest, in FetchArgs) (*mcp.CallToolResult, PageResult, error) {
	if strings.TrimSpace(in.URL) == "" {
		return nil, PageResult{}, errors.New("url: must not be empty")
	}
	p, err := t.cfg.Fetcher.Fetch(ctx, in.URL)
	if err != nil {
		return nil, PageResult{}, err // a refusal says why: "refused URL: address: reason"
	}
	out := PageResult{URL: p.URL, FinalURL: p.FinalURL, Status: p.Status, Title: p.Title, Text: p.Text, Links: p.Links, Truncated: p.Truncated}
	if len(out.Text) > t.cfg.MaxPageChars {
		cut := t.cfg.MaxPageChars
		for cut > 0 && !utf8.RuneStart(out.Text[cut]) {
			cut--
		}
		out.Text, out.Truncated = out.Text[:cut], true
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out.Title + "\n\n" + out.Text}}}, out, nil
}

// ResearchArgs are the research tool's arguments; the budget fields are
// capped by the server.
type ResearchArgs struct {
	Question     string   `json:"question" jsonschema:"the question to research"`
	Preset       string   `json:"preset,omitempty" jsonschema:"which agent runs it (default: the server's first)"`
	MaxTurns     *int     `json:"max_turns,omitempty" jsonschema:"most policy turns"`
	MaxToolCalls *int     `json:"max_tool_calls,omitempty" jsonschema:"most searches and pages read"`
	MaxSeconds   *float64 `json:"max_seconds,omitempty" jsonschema:"most wall-clock seconds"`
}

// ResearchResult is the research tool's structured result.
type ResearchResult struct {
	Answer    string              `json:"answer"`
	Status    agent.Status        `json:"status"`
	Reason    string              `json:"reason,omitempty"`
	Citations []agentapi.Citation `json:"citations"`
	Cited     bool                `json:"cited"` // the citations are those the answer cites, not all passages read
	Episode   agent.Summary       `json:"episode"`
	Budget    agent.BudgetJSON    `json:"budget"`
}

func (t *tools) research(ctx context.Context, req *mcp.CallToolRequest, in ResearchArgs) (*mcp.CallToolResult, ResearchResult, error) {
	q := strings.TrimSpace(in.Question)
	switch {
	case q == "":
		return nil, ResearchResult{}, errors.New("question: must not be empty")
	case len(q) > 8<<10:
		return nil, ResearchResult{}, fmt.Errorf("question: %d bytes; at most %d", len(q), 8<<10)
	}
	name := in.Preset
	if name == "" {
		name = t.def
	}
	sys := t.systems[name]
	if sys == nil {
		return nil, ResearchResult{}, fmt.Errorf("preset: %q is not served here", in.Preset)
	}
	b, field, err := agentapi.CapBudget(sys.Preset.Budget, t.cfg.Limits, agentapi.Ask{MaxTurns: in.MaxTurns, MaxToolCalls: in.MaxToolCalls, MaxSeconds: in.MaxSeconds})
	if err != nil {
		return nil, ResearchResult{}, fmt.Errorf("%s: %w", field, err)
	}
	id := newID()
	onEvent := t.progress(ctx, req, id, q, sys, b)
	ep, cites, cited := sys.Run(ctx, id, q, b, nil, onEvent)
	t.cfg.Logger.Info("research episode ended", "id", id, "preset", name, "status", ep.Status, "turns", ep.Ledger.Turns, "searches", ep.Ledger.Searches)
	switch ep.Status {
	case agent.Cancelled:
		return nil, ResearchResult{}, fmt.Errorf("research cancelled: %s", ep.Reason)
	case agent.Failed:
		return nil, ResearchResult{}, fmt.Errorf("research failed: %s", ep.Reason)
	}
	out := ResearchResult{Answer: ep.Answer, Status: ep.Status, Reason: ep.Reason, Citations: cites, Cited: cited, Episode: ep.Summarize(), Budget: b.JSON()}
	if out.Citations == nil {
		out.Citations = []agentapi.Citation{}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: agentapi.AnswerText(ep, cites, cited)}}}, out, nil
}

// progress returns the episode's event sink: each event a progress
// notification when the caller gave a progress token, nil otherwise.
func (t *tools) progress(ctx context.Context, req *mcp.CallToolRequest, id, q string, sys *agentapi.System, b agent.Budget) func(agent.Event) {
	token := req.Params.GetProgressToken()
	if token == nil {
		return nil
	}
	var enc agent.EventEncoder
	n := 0
	send := func(rec agent.EventRecord) {
		n++
		msg := strings.TrimSpace(agentapi.Narrate(&rec))
		if msg == "" {
			msg = string(rec.Type)
		}
		// The record travels as JSON-able data: its pointers are read now,
		// inside the callback, as agent.EventEncoder requires.
		err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(n), Message: msg,
			Meta: mcp.Meta{"sleuth/event": rec}})
		if err != nil {
			t.cfg.Logger.Debug("research progress not delivered", "id", id, "err", err)
		}
	}
	p := sys.Preset
	p.Budget = b
	send(enc.Start(id, q, &p, time.Now()))
	return func(ev agent.Event) { send(enc.Record(ev)) }
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "mcp-" + hex.EncodeToString(b[:])
}
