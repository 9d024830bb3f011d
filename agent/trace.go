package agent

import (
	"encoding/json"
	"fmt"
	"os"
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
