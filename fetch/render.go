package fetch

import (
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// blockTags start and end a paragraph of output.
var blockTags = map[string]bool{
	"p": true, "div": true, "section": true, "article": true, "main": true, "header": true,
	"footer": true, "ul": true, "ol": true, "table": true, "thead": true, "tbody": true,
	"tfoot": true, "blockquote": true, "figure": true, "figcaption": true, "dl": true, "dt": true,
	"dd": true, "address": true, "details": true, "summary": true, "form": true, "fieldset": true,
	"body": true, "html": true, "center": true, "caption": true, "nav": true, "aside": true,
	"legend": true, "hgroup": true,
}

// renderer turns a cleaned tree into paragraphs.
type renderer struct {
	base     *url.URL
	blocks   []string
	kinds    []byte // 'l' list item, 't' table row, 0 other: runs of one kind join with one newline
	row      bool   // cur is a table row
	cur      strings.Builder
	prefix   string // "- " for list items
	pre      bool   // cur holds preformatted text
	headings []Heading
	links    []Link
	seen     map[Link]bool
}

func (r *renderer) render(n *html.Node, inPre bool) {
	switch n.Type {
	case html.TextNode:
		r.text(n.Data, inPre)
		return
	case html.ElementNode:
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			r.render(c, inPre)
		}
		return
	}
	tag := n.Data
	if tag == "a" {
		r.link(n)
	}
	switch {
	case tag == "br":
		r.cur.WriteByte('\n')
	case tag == "hr":
		r.flush()
	case len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6':
		r.flush()
		t := collapseSpace(textOf(n))
		if t != "" {
			lvl := int(tag[1] - '0')
			r.headings = append(r.headings, Heading{Level: lvl, Text: t})
			r.add(strings.Repeat("#", lvl)+" "+t, 0)
		}
		walk(n, func(c *html.Node) bool { // links inside headings
			if c != n && c.Type == html.ElementNode && c.Data == "a" {
				r.link(c)
			}
			return true
		})
	case tag == "li":
		r.flush()
		r.prefix = "- "
		r.children(n, inPre)
		r.flush()
	case tag == "td" || tag == "th":
		if strings.TrimSpace(r.cur.String()) != "" {
			r.cur.WriteString(" | ")
		}
		r.children(n, inPre)
	case tag == "tr":
		r.flush()
		r.children(n, inPre)
		r.row = true
		r.flush()
	case tag == "pre":
		r.flush()
		r.pre = true
		r.children(n, true)
		r.flush()
	case blockTags[tag]:
		r.flush()
		r.children(n, inPre)
		r.flush()
	default:
		r.children(n, inPre)
	}
}

func (r *renderer) children(n *html.Node, inPre bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.render(c, inPre)
	}
}

// text appends s, collapsing white space as a browser does outside <pre>.
func (r *renderer) text(s string, inPre bool) {
	if inPre {
		r.cur.WriteString(s)
		return
	}
	start, space := -1, false
	for i, c := range s {
		if unicode.IsSpace(c) {
			if start >= 0 {
				r.cur.WriteString(s[start:i])
				start = -1
			}
			space = true
			continue
		}
		if start < 0 {
			if space {
				r.cur.WriteByte(' ')
				space = false
			}
			start = i
		}
	}
	if start >= 0 {
		r.cur.WriteString(s[start:])
	} else if space {
		r.cur.WriteByte(' ')
	}
}

// flush ends the current paragraph.
func (r *renderer) flush() {
	raw := r.cur.String()
	r.cur.Reset()
	prefix, pre, row := r.prefix, r.pre, r.row
	r.prefix, r.pre, r.row = "", false, false
	var lines []string
	for _, l := range strings.Split(raw, "\n") {
		if pre {
			l = strings.TrimRightFunc(l, unicode.IsSpace)
		} else {
			l = collapseSpace(l)
		}
		if l != "" || pre && len(lines) > 0 {
			lines = append(lines, l)
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return
	}
	kind := byte(0)
	if prefix != "" {
		kind = 'l'
	} else if row {
		kind = 't'
	}
	r.add(prefix+strings.Join(lines, "\n"), kind)
}

// add appends a block; tight blocks (list items, table rows) that follow
// one another are joined with a single newline.
func (r *renderer) add(b string, kind byte) {
	r.blocks = append(r.blocks, b)
	r.kinds = append(r.kinds, kind)
}

// String joins the blocks into the page text.
func (r *renderer) String() string {
	var sb strings.Builder
	n := 0
	for _, b := range r.blocks {
		n += len(b) + 2
	}
	sb.Grow(n)
	for i, b := range r.blocks {
		if i > 0 {
			if r.kinds[i] != 0 && r.kinds[i] == r.kinds[i-1] {
				sb.WriteByte('\n')
			} else {
				sb.WriteString("\n\n")
			}
		}
		sb.WriteString(b)
	}
	return sb.String()
}

// link records an <a href> with its visible text as an absolute URL.
func (r *renderer) link(n *html.Node) {
	href, ok := attr(n, "href")
	if !ok {
		return
	}
	href = strings.TrimSpace(CleanText(href))
	var u *url.URL
	var err error
	if r.base != nil {
		u, err = r.base.Parse(href)
	} else {
		u, err = url.Parse(href)
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return
	}
	u.Fragment, u.RawFragment = "", ""
	l := Link{Text: collapseSpace(textOf(n)), URL: u.String()}
	if l.Text == "" || r.seen[l] {
		return
	}
	r.seen[l] = true
	r.links = append(r.links, l)
}
