package agentapi

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
)

// Citation is a passage an answer rests on, numbered as the answer's
// source list numbers it.
type Citation struct {
	N     int    `json:"n"`
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// sources remembers the URL of every passage one episode's tools
// returned, for its citations (an episode keeps ids and titles only).
type sources struct {
	mu  sync.Mutex
	url map[string]string
}

func (s *sources) note(id, url string) {
	if url == "" {
		return
	}
	s.mu.Lock()
	if s.url == nil {
		s.url = map[string]string{}
	}
	s.url[id] = url
	s.mu.Unlock()
}

func (s *sources) urlOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url[id]
}

// noteHits notes the URLs of the passages an observation returns.
func (s *sources) noteHits(obs agent.Observation) {
	for _, h := range obs.Hits {
		s.note(h.Passage.ID, h.Passage.Meta["url"])
	}
}

// citations lists what the answer rests on: the passages it cites when
// the preset has it cite (cited is then true), else every passage the
// episode retrieved.
func citations(ep *agent.Episode, src *sources) (out []Citation, cited bool) {
	title := make(map[string]string, len(ep.Retrieved))
	for _, h := range ep.Retrieved {
		title[h.ID] = h.Title
	}
	ids := ep.Evidence
	cited = len(ids) > 0
	if !cited {
		for _, h := range ep.Retrieved {
			ids = append(ids, h.ID)
		}
	}
	out = make([]Citation, 0, len(ids))
	for i, id := range ids {
		out = append(out, Citation{N: i + 1, ID: id, Title: title[id], URL: src.urlOf(id)})
	}
	return out, cited
}

// AnswerText is the assistant message a chat UI shows: the answer (or why
// there is none) and the numbered sources.
func AnswerText(ep *agent.Episode, cites []Citation, cited bool) string {
	var b strings.Builder
	switch ep.Status {
	case agent.Answered:
		b.WriteString(ep.Answer)
	case agent.OverBudget:
		fmt.Fprintf(&b, "No answer within the budget: %s.", ep.Reason)
	default:
		fmt.Fprintf(&b, "No answer (%s): %s.", ep.Status, ep.Reason)
	}
	if len(cites) == 0 {
		return b.String()
	}
	if cited {
		b.WriteString("\n\nSources:")
	} else {
		b.WriteString("\n\nPassages read:")
	}
	for _, c := range cites {
		fmt.Fprintf(&b, "\n[%d] %s", c.N, oneLine(c.Title))
		if c.URL != "" {
			fmt.Fprintf(&b, " <%s>", oneLine(c.URL))
		}
		fmt.Fprintf(&b, " (id %s)", oneLine(c.ID))
	}
	return b.String()
}

// oneLine keeps a corpus string from breaking the source list's layout.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
