package fetch

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// Document is the readable part of an HTML page.
type Document struct {
	Title    string
	Text     string // paragraphs separated by blank lines; headings as "# ", list items as "- "
	Headings []Heading
	Links    []Link
	// Truncated says why Text stops early or is missing (a limit of
	// ExtractLimits, a cancelled context); "" when the page was read whole.
	Truncated string
}

// Extract returns the visible main text of an HTML page. base resolves
// relative links (nil keeps only absolute ones). It never fails: garbage in
// gives little or no text out.
//
// It works in three passes over the parsed tree: remove everything a
// reader of the rendered page would not see (hidden by attribute, by inline
// or <style> CSS, same-colour text, non-content elements), remove
// navigation boilerplate, then render the main region (<main>, role=main,
// the largest <article>, else <body>) as text.
//
// Extract uses the default ExtractLimits and no deadline; ExtractContext
// takes both.
func Extract(body []byte, base *url.URL) Document {
	return ExtractContext(context.Background(), body, base, ExtractLimits{})
}

// ExtractContext is Extract with a context (its cancellation or deadline
// truncates the text, as a limit does) and limits on the work done.
func ExtractContext(ctx context.Context, body []byte, base *url.URL, lim ExtractLimits) Document {
	lim = lim.withDefaults()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil { // the parser refuses nesting deeper than 512, for one
		return Document{Truncated: fmt.Sprintf("the page could not be parsed: %v", err)}
	}
	truncated := prune(doc, lim)
	budget := newWorkBudget(ctx, lim.MaxWork)
	ss := newStylesheet(budget, lim.MaxRules)
	order := 0
	var title string
	var baseHref string
	walk(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		switch n.Data {
		case "style":
			ss.add(textOf(n), &order)
		case "title":
			if title == "" && n.Namespace == "" { // not an <svg><title>
				title = collapseSpace(CleanText(textOf(n)))
			}
		case "base":
			if baseHref == "" {
				baseHref, _ = attr(n, "href")
			}
		}
		return true
	})
	if baseHref != "" && base != nil {
		if b, err := base.Parse(baseHref); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
			base = b
		}
	}
	if ss.overflow {
		// Which text the unread rules hide is unknown: show none of it.
		return Document{Title: title, Truncated: fmt.Sprintf("the page has more than %d style rules; its text was not extracted", lim.MaxRules)}
	}
	white := rgba{255, 255, 255, 1}
	black := rgba{0, 0, 0, 1}
	if removeInvisible(doc, ss, black, true, white, true) {
		truncated = budget.reason + "; the text stops where it ran out"
	}
	removeBoilerplate(doc)
	root := mainRegion(doc)
	if root == nil {
		return Document{Title: title, Truncated: truncated}
	}
	removeLinkLists(root, textLen(root))
	r := renderer{base: base, seen: map[Link]bool{}}
	r.render(root, false)
	r.flush()
	d := Document{Title: title, Text: r.String(), Headings: r.headings, Links: r.links, Truncated: truncated}
	if d.Title == "" && len(d.Headings) > 0 {
		d.Title = d.Headings[0].Text
	}
	return d
}

// walk visits n and its descendants in document order; f returns false to
// skip a node's children.
func walk(n *html.Node, f func(*html.Node) bool) {
	if !f(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		return true
	})
	return b.String()
}

// dropTags never hold text a reader sees as page content.
var dropTags = map[string]bool{
	"head": true, "script": true, "style": true, "template": true, "noscript": true,
	"iframe": true, "object": true, "embed": true, "svg": true, "canvas": true,
	"select": true, "option": true, "datalist": true, "textarea": true, "input": true,
	"meta": true, "link": true, "button": true, "map": true, "area": true, "frameset": true, "frame": true,
}

// hiddenElement reports whether n is hidden by markup alone.
func hiddenElement(n *html.Node) bool {
	if dropTags[n.Data] {
		return true
	}
	if _, ok := attr(n, "hidden"); ok {
		return true
	}
	if v, _ := attr(n, "aria-hidden"); strings.EqualFold(strings.TrimSpace(v), "true") {
		return true
	}
	if n.Data == "dialog" {
		if _, open := attr(n, "open"); !open {
			return true
		}
	}
	return false
}

// removeInvisible deletes hidden elements, comments and text whose colour
// matches its background. fg is the inherited text colour (fgKnown false
// when it could not be parsed); bg is the nearest ancestor background.
// When the stylesheet's work budget runs out it deletes everything from
// that element on, in document order, and reports true: text whose
// visibility was not decided is never shown.
func removeInvisible(n *html.Node, ss *stylesheet, fg rgba, fgKnown bool, bg rgba, bgKnown bool) (stopped bool) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if ss.budget.spent() {
			removeFrom(n, c)
			return true
		}
		switch c.Type {
		case html.CommentNode, html.DoctypeNode:
			n.RemoveChild(c)
		case html.TextNode:
			if fgKnown && bgKnown && invisibleOn(fg, bg) && strings.TrimSpace(c.Data) != "" {
				n.RemoveChild(c)
			} else {
				c.Data = CleanText(c.Data)
			}
		case html.ElementNode:
			if hiddenElement(c) {
				n.RemoveChild(c)
				break
			}
			d := ss.computed(c)
			if ss.budget.spent() {
				removeFrom(n, c)
				return true
			}
			if hiddenByStyle(d) {
				n.RemoveChild(c)
				break
			}
			cfg, cknown, cbg, cbgKnown := fg, fgKnown, bg, bgKnown
			v, ok := textColor(d)
			if !ok && (c.Data == "font" || c.Data == "body") {
				key := "color"
				if c.Data == "body" {
					key = "text"
				}
				v, ok = attr(c, key)
			}
			if ok && v != "inherit" && v != "currentcolor" {
				cfg, cknown = parseColor(v)
			}
			// Background images are ignored on purpose: text the same colour
			// as the background colour is dropped even over an image, since a
			// transparent image would otherwise hide text from the check.
			if b, ok := backgroundColor(d); ok && b.a > 0.05 {
				cbg, cbgKnown = b, true
			} else if v, ok := attr(c, "bgcolor"); ok {
				if b, ok := parseColor(v); ok && b.a > 0.05 {
					cbg, cbgKnown = b, true
				}
			}
			if removeInvisible(c, ss, cfg, cknown, cbg, cbgKnown) {
				removeFrom(n, next)
				return true
			}
		default:
			if removeInvisible(c, ss, fg, fgKnown, bg, bgKnown) {
				removeFrom(n, next)
				return true
			}
		}
		c = next
	}
	return false
}

// removeFrom deletes c (nil for none) and its following siblings from n.
func removeFrom(n, c *html.Node) {
	for c != nil {
		next := c.NextSibling
		n.RemoveChild(c)
		c = next
	}
}

// prune deletes the children of nodes at depth lim.MaxDepth and every
// node from the (lim.MaxElements+1)th element on, without recursion, so
// that the later passes (recursive, some quadratic in depth) stay bounded.
// It returns why it cut, or "".
func prune(doc *html.Node, lim ExtractLimits) string {
	var why string
	elements, depth := 0, 0
	n := doc
	for {
		if n.Type == html.ElementNode {
			if elements++; elements > lim.MaxElements {
				for x := n; x != doc; x = x.Parent {
					removeFrom(x.Parent, x.NextSibling)
				}
				n.Parent.RemoveChild(n)
				return fmt.Sprintf("the page has more than %d elements; the text stops there", lim.MaxElements)
			}
		}
		if depth >= lim.MaxDepth && n.FirstChild != nil {
			removeFrom(n, n.FirstChild)
			why = fmt.Sprintf("elements nested deeper than %d were dropped", lim.MaxDepth)
		}
		if n.FirstChild != nil {
			n, depth = n.FirstChild, depth+1
			continue
		}
		for n != doc && n.NextSibling == nil {
			n, depth = n.Parent, depth-1
		}
		if n == doc {
			return why
		}
		n = n.NextSibling
	}
}

// boilerRoles and boilerWords mark navigation, banners, ads and the like.
var boilerRoles = map[string]bool{
	"navigation": true, "banner": true, "contentinfo": true, "complementary": true,
	"search": true, "menu": true, "menubar": true, "dialog": true, "alertdialog": true,
}

var boilerWords = map[string]bool{
	"nav": true, "navbar": true, "navigation": true, "menu": true, "breadcrumb": true, "breadcrumbs": true,
	"sidebar": true, "footer": true, "cookie": true, "cookies": true, "consent": true, "gdpr": true,
	"advert": true, "advertisement": true, "ads": true, "ad": true, "sponsor": true, "sponsored": true,
	"promo": true, "share": true, "sharing": true, "social": true, "related": true, "newsletter": true,
	"subscribe": true, "popup": true, "modal": true, "pagination": true, "skip": true, "banner": true,
}

func isBoilerplate(n *html.Node) bool {
	switch n.Data {
	case "nav", "aside", "footer":
		return true
	case "header":
		return !insideContent(n)
	}
	if role, _ := attr(n, "role"); boilerRoles[strings.ToLower(role)] {
		return true
	}
	id, _ := attr(n, "id")
	cls, _ := attr(n, "class")
	for _, w := range strings.FieldsFunc(strings.ToLower(id+" "+cls), func(r rune) bool {
		return r == ' ' || r == '-' || r == '_' || r == '\t' || r == '\n'
	}) {
		if boilerWords[w] {
			return true
		}
	}
	return false
}

func insideContent(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && (p.Data == "article" || p.Data == "main") {
			return true
		}
	}
	return false
}

// holdsContent protects containers of the main text from the boilerplate
// rules: a layout div named "sidebar-layout" may wrap <main>.
func holdsContent(n *html.Node) bool {
	found := false
	walk(n, func(c *html.Node) bool {
		if found {
			return false
		}
		if c != n && c.Type == html.ElementNode {
			if r, _ := attr(c, "role"); c.Data == "main" || c.Data == "article" || c.Data == "h1" || strings.EqualFold(r, "main") {
				found = true
			}
		}
		return true
	})
	return found
}

func removeBoilerplate(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode && c.Data != "body" && c.Data != "html" && c.Data != "main" &&
			isBoilerplate(c) && !holdsContent(c) {
			n.RemoveChild(c)
		} else {
			removeBoilerplate(c)
		}
		c = next
	}
}

// linkBlockTags may be dropped as link lists (navigation without markup).
var linkBlockTags = map[string]bool{"ul": true, "ol": true, "div": true, "table": true, "section": true, "menu": true, "p": true}

// removeLinkLists drops blocks that are mostly link text with at least
// three links, as navigation menus are, unless the block holds a large
// share of the page (total is the page's text length): an index page that
// is a list of links keeps its list. It works bottom-up and returns the
// text and link-text lengths left under n.
func removeLinkLists(n *html.Node, total int) (text, linkText, links int) {
	if n.Type == html.TextNode {
		return len(strings.TrimSpace(n.Data)), 0, 0
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		t, lt, nl := removeLinkLists(c, total)
		if c.Type == html.ElementNode && linkBlockTags[c.Data] && nl >= 3 && t > 0 &&
			float64(lt) >= 0.7*float64(t) && float64(t) < 0.3*float64(total) && !holdsContent(c) {
			n.RemoveChild(c)
		} else {
			text, linkText, links = text+t, linkText+lt, links+nl
		}
		c = next
	}
	if n.Type == html.ElementNode && n.Data == "a" {
		if _, ok := attr(n, "href"); ok {
			linkText, links = text, links+1
		}
	}
	return text, linkText, links
}

// mainRegion picks the element to render.
func mainRegion(doc *html.Node) *html.Node {
	var body, main, roleMain, article *html.Node
	articleLen := -1
	walk(doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		switch n.Data {
		case "body":
			if body == nil {
				body = n
			}
		case "main":
			if main == nil {
				main = n
			}
		case "article":
			if l := textLen(n); l > articleLen {
				article, articleLen = n, l
			}
		}
		if r, _ := attr(n, "role"); strings.EqualFold(r, "main") && roleMain == nil {
			roleMain = n
		}
		return true
	})
	for _, cand := range []*html.Node{main, roleMain, article} {
		if cand != nil && textLen(cand) >= 20 {
			return cand
		}
	}
	if body != nil {
		return body
	}
	return doc
}

// invisibleRune reports characters that render as nothing but can carry
// text to a model: zero-width and joiner characters, bidi controls, soft
// hyphens, Unicode tag characters (ASCII smuggling) and variation selector
// supplements.
func invisibleRune(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064,
		r >= 0x2066 && r <= 0x2069, r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F,
		r >= 0xE0000 && r <= 0xE007F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r >= 0x7F && r < 0xA0:
		return true
	}
	return false
}

// CleanText removes invisible characters (see invisibleRune) from s and
// replaces invalid UTF-8. The fetcher applies it to every text it returns.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := true
	for _, r := range s {
		if invisibleRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if invisibleRune(r) {
			return -1
		}
		return r
	}, s)
}

// collapseSpace trims s and turns each run of white space into one space.
func collapseSpace(s string) string {
	if isCollapsed(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isCollapsed is collapseSpace's fast path: ASCII with single inner spaces.
func isCollapsed(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80 || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			return false
		case c == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		default:
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}

// textLen counts the non-blank text bytes under n without building it.
func textLen(n *html.Node) int {
	total := 0
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			total += len(strings.TrimSpace(c.Data))
		}
		return true
	})
	return total
}
