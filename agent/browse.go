package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sleuth-research/sleuth/fetch"
	"github.com/sleuth-research/sleuth/guard"
	"github.com/sleuth-research/sleuth/llm"
)

// Fetcher opens a URL for the browser: *fetch.Client is the real one
// (SSRF-safe, robots-aware, hidden text removed).
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*fetch.Page, error)
}

// BrowseTool is DeepResearcher's browsing sub-agent: it opens a page,
// reads it segment by segment with the question, the goal and the notes
// so far, keeps only new relevant facts, and stops early when it has
// enough or the page is irrelevant. The main agent receives the notes with
// the URL. The browser may use its own model endpoint.
type BrowseTool struct {
	Fetch        Fetcher
	LLM          llm.Client
	SegmentChars int // segment size (default 3000 characters)
	MaxSegments  int // segments read per page at most (default 4)
	MaxTokens    int // per browser reply (default 160)
	// Guard screens each part of the page before the browser reads it
	// (Off: parts are read raw), rewriting flagged parts as the mode says;
	// Screener judges them (nil: the guard package's rules).
	Guard    guard.Mode
	Screener guard.Screener
}

// Name is "browse".
func (BrowseTool) Name() string { return ToolBrowse }

const browserPrompt = `You are reading a web page for a researcher.
Question: %s
Goal for this page: %s
Notes so far:
%s
Page %s, part %d of %d:
%s
Write each new fact from this part that helps with the goal on its own line starting with "- ". Write NONE if there is none. Write STOP on the last line if the notes now answer the goal or the page is irrelevant.
`

// Call reads the page c.Input. A page that cannot be opened (refused,
// missing, not text) is an observation saying so, not a failure of the
// episode.
func (b BrowseTool) Call(ctx context.Context, c Call) (Observation, error) {
	size, most, toks := b.SegmentChars, b.MaxSegments, b.MaxTokens
	if size <= 0 {
		size = 3000
	}
	if most <= 0 {
		most = 4
	}
	if toks <= 0 {
		toks = 160
	}
	goal := c.Args["goal"]
	if goal == "" {
		goal = c.Question
	}
	page, err := b.Fetch.Fetch(ctx, c.Input)
	if err != nil {
		if ctx.Err() != nil {
			return Observation{}, ctx.Err()
		}
		return Observation{Text: fmt.Sprintf("URL: %s\nCould not open the page: %v\n", c.Input, err), Log: []string{"open failed: " + err.Error()}}, nil
	}
	segs := fetch.Segments(page.Text, size, fetch.Chars)
	var notes, log []string
	nflagged := 0
	if page.ExtractNote != "" {
		log = append(log, "page text cut short: "+page.ExtractNote)
	}
	for i, seg := range segs {
		if i == most {
			log = append(log, fmt.Sprintf("stopped after %d of %d parts (limit)", most, len(segs)))
			break
		}
		noteText := "(none yet)"
		if len(notes) > 0 {
			noteText = "- " + strings.Join(notes, "\n- ")
		}
		text, flagged := b.screen(ctx, seg.Text)
		if flagged != nil {
			nflagged++
			log = append(log, fmt.Sprintf("part %d/%d flagged by the guard (%s)", i+1, len(segs), strings.Join(flagged, ", ")))
		}
		prompt := fmt.Sprintf(browserPrompt, c.Question, goal, noteText, page.FinalURL, i+1, len(segs), text)
		seed := int64(i)
		resp, err := b.LLM.Generate(ctx, llm.Request{Prompt: prompt, MaxTokens: toks, Temperature: 0, Seed: &seed})
		if err != nil {
			return Observation{}, fmt.Errorf("browse %s: %w", c.Input, err)
		}
		if len(resp.Choices) == 0 {
			return Observation{}, fmt.Errorf("browse %s: the browser model returned no choices", c.Input)
		}
		added, stop := browserNotes(resp.Choices[0].Text)
		notes = append(notes, added...)
		log = append(log, fmt.Sprintf("read part %d/%d (%d chars): %d new notes", i+1, len(segs), len(seg.Text), len(added)))
		if stop {
			log = append(log, "stopped early: enough, or irrelevant")
			break
		}
	}
	var out strings.Builder
	title := page.Title
	if b.Guard != guard.Off {
		title = guard.Clean(title)
	}
	fmt.Fprintf(&out, "URL: %s\nTitle: %s\n", page.FinalURL, title)
	if len(notes) == 0 {
		out.WriteString("Notes: nothing relevant found.\n")
	} else {
		out.WriteString("Notes:\n- " + strings.Join(notes, "\n- ") + "\n")
	}
	return Observation{Text: out.String(), Bytes: page.Bytes, Log: log, Flagged: nflagged}, nil
}

// screen applies the browser's guard to one part of a page: the text the
// browser reads, and the rules that flagged it (nil when none did). A
// failing classifier falls back to the rules.
func (b BrowseTool) screen(ctx context.Context, text string) (string, []string) {
	if b.Guard == guard.Off {
		return text, nil
	}
	v := guard.Check(ctx, b.Screener, text)
	if !v.Flagged {
		return guard.Clean(text), nil
	}
	return guard.Rewrite(b.Guard, guard.Clean(text), v), v.Rules
}

// browserNotes reads a browser reply: "- fact" lines, NONE, STOP.
func browserNotes(reply string) (notes []string, stop bool) {
	for _, line := range strings.Split(reply, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.EqualFold(line, "STOP"):
			stop = true
		case strings.HasPrefix(line, "- "):
			if n := strings.TrimSpace(line[2:]); n != "" && len(notes) < 8 {
				notes = append(notes, n)
			}
		}
	}
	return notes, stop
}

// PageStore is where recorded pages live: search/web's Snapshot is one.
type PageStore interface {
	Put(kind, key string, body []byte) (hash string, err error)
	Get(kind, key string) ([]byte, error)
}

// pageKind is the snapshot kind of recorded pages.
const pageKind = "page"

// RecordingFetcher fetches through Inner and stores every page it opens
// in Store, so a later run can replay the same pages without the web.
type RecordingFetcher struct {
	Inner Fetcher
	Store PageStore
}

// Fetch implements Fetcher.
func (r RecordingFetcher) Fetch(ctx context.Context, rawURL string) (*fetch.Page, error) {
	p, err := r.Inner.Fetch(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rawURL, err)
	}
	if _, err := r.Store.Put(pageKind, rawURL, b); err != nil {
		return nil, fmt.Errorf("record %s: %w", rawURL, err)
	}
	return p, nil
}

// ReplayFetcher serves pages from Store alone; a page not recorded is an
// error naming it, never a request.
type ReplayFetcher struct{ Store PageStore }

// Fetch implements Fetcher.
func (r ReplayFetcher) Fetch(_ context.Context, rawURL string) (*fetch.Page, error) {
	b, err := r.Store.Get(pageKind, rawURL)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", rawURL, err)
	}
	var p fetch.Page
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("replay %s: %w", rawURL, err)
	}
	return &p, nil
}
