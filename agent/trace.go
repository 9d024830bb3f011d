package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// AppendTrace appends ep as one JSON line to the trace file at path,
// creating it when missing: the trace JSONL that `ask --trace-out` writes
// and the UI reads.
func AppendTrace(path string, ep *Episode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("trace %s: %w", path, err)
	}
	b, err := json.Marshal(ep)
	if err != nil {
		f.Close()
		return fmt.Errorf("trace %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("trace %s: %w", path, err)
	}
	return f.Close()
}

// EvidenceRef is a passage an answer rests on.
type EvidenceRef struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

// Grounds lists what the answer rests on: the passages it cites, or
// failing that every passage the episode retrieved; never nil.
func (ep *Episode) Grounds() []EvidenceRef {
	title := map[string]string{}
	for _, h := range ep.Retrieved {
		title[h.ID] = h.Title
	}
	ids := ep.Evidence
	if len(ids) == 0 {
		for _, h := range ep.Retrieved {
			ids = append(ids, h.ID)
		}
	}
	out := []EvidenceRef{}
	for _, id := range ids {
		out = append(out, EvidenceRef{ID: id, Title: title[id]})
	}
	return out
}

// WriteText prints the episode as `sleuth ask` shows it: with trace every
// turn (the completion, format errors, tool calls with their hits, images
// shown), then the answer or why there is none, its grounds and the
// ledger.
func (ep *Episode) WriteText(w io.Writer, trace bool) {
	if trace {
		for _, t := range ep.Turns {
			fmt.Fprintf(w, "── turn %d (%d tokens, %s)\n%s\n", t.Index+1, t.OutTokens, t.FinishReason, strings.TrimSpace(t.Completion))
			if t.Action.Error != "" {
				fmt.Fprintf(w, "   ! format error: %s\n", t.Action.Error)
			}
			for _, c := range t.Calls {
				fmt.Fprintf(w, "   → %s %q: %d passages\n", c.Tool, c.Input, len(c.Hits))
				for _, h := range c.Hits {
					fmt.Fprintf(w, "     [%.2f] %s (%s)\n", h.Score, h.Title, h.ID)
				}
			}
			for _, im := range ep.Images { // pages and crops shown (vrag)
				if im.Turn == t.Index {
					fmt.Fprintf(w, "     image: %s %s, %d×%d px\n", im.Kind, im.Page, im.Width, im.Height)
				}
			}
		}
		fmt.Fprintln(w, "──")
	}
	if ep.Status == Answered {
		fmt.Fprintf(w, "answer: %s\n", ep.Answer)
	} else {
		fmt.Fprintf(w, "no answer (%s): %s\n", ep.Status, ep.Reason)
	}
	for _, e := range ep.Grounds() {
		fmt.Fprintf(w, "  evidence: %s (%s)\n", e.Title, e.ID)
	}
	fmt.Fprintf(w, "%d turns, %d searches, %d tokens generated, %s\n", ep.Ledger.Turns, ep.Ledger.Searches, ep.Ledger.CompletionTokens, ep.Ledger.Wall.Round(1e6))
}
