package fetch

import (
	"fmt"
	"io"
)

// WriteText prints the page as `sleuth fetch` shows it: title, final URL,
// status, type and size, then the text whole or as segs (when not nil),
// then the links.
func (p *Page) WriteText(w io.Writer, segs []Segment) error {
	src := ""
	if p.FromCache {
		src = ", from cache"
	}
	trunc := ""
	if p.Truncated {
		trunc = ", TRUNCATED"
	}
	if _, err := fmt.Fprintf(w, "Title: %s\nURL: %s\n(%d %s, %d bytes%s%s)\n", p.Title, p.FinalURL,
		p.Status, p.ContentType, p.Bytes, trunc, src); err != nil {
		return err
	}
	if p.ExtractNote != "" {
		fmt.Fprintf(w, "(text cut short: %s)\n", p.ExtractNote)
	}
	if segs == nil {
		fmt.Fprintf(w, "\n%s\n", p.Text)
	}
	for _, s := range segs {
		fmt.Fprintf(w, "\n--- segment %d of %d (bytes %d-%d) ---\n%s\n", s.Index+1, len(segs), s.Start, s.End, s.Text)
	}
	if len(p.Links) > 0 {
		fmt.Fprintf(w, "\nLinks:\n")
		for i, l := range p.Links {
			fmt.Fprintf(w, "[%d] %s <%s>\n", i+1, l.Text, l.URL)
		}
	}
	return nil
}
