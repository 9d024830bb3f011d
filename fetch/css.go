package fetch

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// This file is the small part of CSS that decides whether text is visible:
// inline style attributes plus a page's own <style> rules whose selectors
// are tag/.class/#id compounds, optionally joined by descendant or child
// combinators (child is treated as descendant). Rules with pseudo-classes,
// attribute or sibling selectors, @media and other at-rules, external
// stylesheets, inheritance of visibility undone by a child, and script-set
// styles are not handled; see the package doc.

// relevantProps are the properties that can hide text; others are dropped
// at parse time so matching stays cheap.
var relevantProps = map[string]bool{
	"display": true, "visibility": true, "opacity": true, "font-size": true,
	"width": true, "height": true, "max-width": true, "max-height": true, "overflow": true,
	"position": true, "left": true, "top": true, "right": true, "margin-left": true, "margin-top": true,
	"text-indent": true, "clip": true, "clip-path": true, "transform": true,
	"color": true, "background": true, "background-color": true, "background-clip": true,
	"-webkit-background-clip": true, "-webkit-text-fill-color": true, "content-visibility": true, "filter": true,
}

type compound struct {
	tag     string
	id      string
	classes []string
	attrs   []attrSel
	pseudos []pseudo
}

// attrSel is [name], [name=val], [name~=val] and the like.
type attrSel struct {
	name, op, val string
	fold          bool // the "i" flag: compare case-insensitively
}

type cssRule struct {
	sel   []compound // ancestors first; the last compound is the element itself
	spec  int
	order int
	decls map[string]string
	seen  uint64 // the stylesheet's gen when last collected, for linear de-duplication
}

type stylesheet struct {
	byID, byClass, byTag map[string][]*cssRule
	universal            []*cssRule

	budget   *workBudget // matching work left; nil is unlimited
	gen      uint64      // bumped per computed call
	rules    int         // rules indexed
	maxRules int         // 0 is unlimited
	overflow bool        // more rules than maxRules: the page's styles are unknown
}

func newStylesheet(b *workBudget, maxRules int) *stylesheet {
	return &stylesheet{byID: map[string][]*cssRule{}, byClass: map[string][]*cssRule{}, byTag: map[string][]*cssRule{},
		budget: b, maxRules: maxRules}
}

// parseDecls parses "a: b; c: d" keeping relevant properties, lower-cased,
// without !important (importance is ignored; inline wins anyway).
func parseDecls(s string, into map[string]string) {
	s = cssUnescape(stripComments(s))
	for _, d := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(d, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !relevantProps[k] {
			continue
		}
		v = strings.ToLower(strings.TrimSpace(v))
		v = strings.TrimSpace(strings.TrimSuffix(v, "!important"))
		into[k] = v
	}
}

// cssUnescape resolves CSS escapes (\\6e or \\n for "n"), which browsers
// honour in property names, values and selectors: "d\\isplay:\\6e one" is
// display:none.
func cssUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		for j < len(s) && j-i <= 6 && isHex(s[j]) {
			j++
		}
		if j == i+1 { // an escaped ordinary character
			b.WriteByte(s[j])
			i = j
			continue
		}
		n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
		if n == 0 || n > unicode.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
			n = unicode.ReplacementChar
		}
		b.WriteRune(rune(n))
		if j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
			j++ // one white space ends the escape
		}
		i = j - 1
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// stripComments removes /* */ comments; an unterminated one runs to the end.
func stripComments(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			return b.String()
		}
		s = s[i+2+j+2:]
	}
}

// matchBrace returns the index of the brace closing the one at open, or
// len(s) if there is none.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

func (ss *stylesheet) index(r *cssRule) {
	if ss.maxRules > 0 && ss.rules >= ss.maxRules {
		ss.overflow = true
		return
	}
	ss.rules++
	last := r.sel[len(r.sel)-1]
	switch {
	case last.id != "":
		ss.byID[last.id] = append(ss.byID[last.id], r)
	case len(last.classes) > 0:
		ss.byClass[last.classes[0]] = append(ss.byClass[last.classes[0]], r)
	case last.tag != "":
		ss.byTag[last.tag] = append(ss.byTag[last.tag], r)
	default:
		ss.universal = append(ss.universal, r)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func (c compound) matches(n *html.Node, b *workBudget) bool {
	if !b.spend(1) || n.Type != html.ElementNode {
		return false
	}
	if c.tag != "" && c.tag != n.Data {
		return false
	}
	if c.id != "" {
		if id, _ := attr(n, "id"); id != c.id {
			return false
		}
	}
	if len(c.classes) > 0 {
		cls, _ := attr(n, "class")
		have := strings.Fields(cls)
		for _, want := range c.classes {
			if !slices.Contains(have, want) {
				return false
			}
		}
	}
	for _, a := range c.attrs {
		if !a.matches(n) {
			return false
		}
	}
	for _, p := range c.pseudos {
		if !p.matches(n, b) {
			return false
		}
	}
	return true
}

func (p pseudo) matches(n *html.Node, b *workBudget) bool {
	switch p.kind {
	case "not":
		return !anyMatches(p.alts, n, b)
	case "is":
		return anyMatches(p.alts, n, b)
	case "has":
		found := false
		walk(n, func(c *html.Node) bool {
			if c != n && !found && anyMatches(p.alts, c, b) {
				found = true
			}
			return !found && !b.spent()
		})
		return found
	case "root":
		return n.Parent != nil && n.Parent.Type == html.DocumentNode
	case "last-child":
		return nextElement(n) == nil
	case "only-child":
		return nextElement(n) == nil && elementIndex(n) == 1
	case "nth-child":
		i := elementIndex(n) // 1-based
		if p.a == 0 {
			return i == p.b
		}
		k := (i - p.b) / p.a
		return k >= 0 && k*p.a+p.b == i
	}
	return false
}

func anyMatches(cs []compound, n *html.Node, b *workBudget) bool {
	for _, c := range cs {
		if c.matches(n, b) {
			return true
		}
	}
	return false
}

func elementIndex(n *html.Node) int {
	i := 1
	for s := n.PrevSibling; s != nil; s = s.PrevSibling {
		if s.Type == html.ElementNode {
			i++
		}
	}
	return i
}

func nextElement(n *html.Node) *html.Node {
	for s := n.NextSibling; s != nil; s = s.NextSibling {
		if s.Type == html.ElementNode {
			return s
		}
	}
	return nil
}

func (a attrSel) matches(n *html.Node) bool {
	v, ok := attr(n, a.name)
	if !ok {
		return false
	}
	want := a.val
	if a.fold {
		v, want = strings.ToLower(v), strings.ToLower(want)
	}
	switch a.op {
	case "":
		return true
	case "=":
		return v == want
	case "~=":
		return slices.Contains(strings.Fields(v), want)
	case "|=":
		return v == want || strings.HasPrefix(v, want+"-")
	case "^=":
		return want != "" && strings.HasPrefix(v, want)
	case "$=":
		return want != "" && strings.HasSuffix(v, want)
	case "*=":
		return want != "" && strings.Contains(v, want)
	}
	return false
}

func (r *cssRule) matches(n *html.Node, b *workBudget) bool {
	if !r.sel[len(r.sel)-1].matches(n, b) {
		return false
	}
	anc := n.Parent
	for i := len(r.sel) - 2; i >= 0; i-- {
		for anc != nil && !r.sel[i].matches(anc, b) {
			anc = anc.Parent
		}
		if anc == nil {
			return false
		}
		anc = anc.Parent
	}
	return true
}

// computed returns the relevant declarations for n: matching rules in
// specificity then source order, then the inline style attribute. When the
// stylesheet's work budget runs out the result is incomplete; the caller
// checks ss.budget.spent() and stops trusting it.
func (ss *stylesheet) computed(n *html.Node) map[string]string {
	var matched []*cssRule
	if ss != nil {
		ss.gen++
		collect := func(rs []*cssRule) {
			for _, r := range rs {
				// A rule is listed under each of its classes' keys at most
				// once, but an element's class list may repeat a class:
				// the stamp keeps de-duplication linear.
				if r.seen == ss.gen {
					continue
				}
				r.seen = ss.gen
				if r.matches(n, ss.budget) {
					matched = append(matched, r)
				}
			}
		}
		if id, ok := attr(n, "id"); ok {
			collect(ss.byID[id])
		}
		if cls, ok := attr(n, "class"); ok {
			for _, c := range strings.Fields(cls) {
				collect(ss.byClass[c])
			}
		}
		collect(ss.byTag[n.Data])
		collect(ss.universal)
		// Sorting and merging below cost about n log n.
		if !ss.budget.spend(len(matched) * (1 + bits.Len(uint(len(matched))))) {
			return nil
		}
	}
	style, hasStyle := attr(n, "style")
	if len(matched) == 0 && !hasStyle {
		return nil
	}
	slices.SortFunc(matched, func(a, b *cssRule) int {
		if a.spec != b.spec {
			return a.spec - b.spec
		}
		return a.order - b.order
	})
	d := map[string]string{}
	for _, r := range matched {
		for k, v := range r.decls {
			d[k] = v
		}
	}
	if hasStyle {
		parseDecls(style, d)
	}
	return d
}

// cssLength converts a length to CSS pixels (16 px to the em). ok is false
// for keywords, calc() and anything else not a plain length.
func cssLength(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return 0, true
	}
	units := []struct {
		suffix string
		px     float64
	}{{"px", 1}, {"rem", 16}, {"em", 16}, {"pt", 4.0 / 3}, {"%", 0.16}, {"vw", 10}, {"vh", 10}, {"cm", 37.8}, {"mm", 3.78}, {"in", 96}}
	for _, u := range units {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, false
			}
			return f * u.px, true
		}
	}
	return 0, false
}

// offscreen is how far left/up something must be pushed to count as hidden.
const offscreen = -500

// hiddenByStyle reports whether declarations d make an element's content
// invisible to a reader of the rendered page.
func hiddenByStyle(d map[string]string) bool {
	if d == nil {
		return false
	}
	if d["display"] == "none" || d["visibility"] == "hidden" || d["visibility"] == "collapse" {
		return true
	}
	if d["content-visibility"] == "hidden" {
		return true
	}
	if f, ok := cssFraction(d["opacity"]); ok && f <= 0.05 {
		return true
	}
	if f := strings.ReplaceAll(d["filter"], " ", ""); strings.Contains(f, "opacity(0)") || strings.Contains(f, "opacity(0%)") {
		return true
	}
	if px, ok := cssLength(d["font-size"]); ok && px <= 1 {
		return true
	}
	clipped := d["overflow"] == "hidden" || d["overflow"] == "clip"
	w, wok := cssLength(d["width"])
	h, hok := cssLength(d["height"])
	if wok && hok && w <= 1 && h <= 1 {
		return true
	}
	for _, k := range []string{"width", "height", "max-width", "max-height"} {
		if px, ok := cssLength(d[k]); ok && px <= 1 && clipped {
			return true
		}
	}
	if px, ok := cssLength(d["text-indent"]); ok && px <= offscreen {
		return true
	}
	for _, k := range []string{"margin-left", "margin-top"} {
		if px, ok := cssLength(d[k]); ok && px <= offscreen {
			return true
		}
	}
	if p := d["position"]; p == "absolute" || p == "fixed" || p == "relative" {
		for _, k := range []string{"left", "top", "right"} {
			if px, ok := cssLength(d[k]); ok && px <= offscreen {
				return true
			}
		}
		for _, k := range []string{"left", "right"} { // far off to the side
			if px, ok := cssLength(d[k]); ok && px >= -10*offscreen {
				return true
			}
		}
		if c := strings.ReplaceAll(d["clip"], " ", ""); strings.HasPrefix(c, "rect(0") || strings.HasPrefix(c, "rect(1px,1px") || strings.HasPrefix(c, "rect(1px1px") {
			return true
		}
	}
	cp := strings.ReplaceAll(d["clip-path"], " ", "")
	if strings.HasPrefix(cp, "inset(50%") || strings.HasPrefix(cp, "inset(100%") || strings.HasPrefix(cp, "circle(0") {
		return true
	}
	return hiddenTransform(d["transform"])
}

// cssFraction parses an opacity-like value: 0.5 or 50%.
func cssFraction(v string) (float64, bool) {
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil {
		return 0, false
	}
	if pct {
		f /= 100
	}
	return f, true
}

func hiddenTransform(t string) bool {
	t = strings.ReplaceAll(t, " ", "")
	for _, z := range []string{"scale(0)", "scale(0,", "scalex(0)", "scaley(0)", "scale(0.0)"} {
		if strings.Contains(t, z) {
			return true
		}
	}
	for _, fn := range []string{"translatex(", "translate(", "translatey(", "translate3d("} {
		if i := strings.Index(t, fn); i >= 0 {
			arg := t[i+len(fn):]
			if j := strings.IndexAny(arg, ",)"); j >= 0 {
				if px, ok := cssLength(arg[:j]); ok && px <= offscreen {
					return true
				}
			}
		}
	}
	return false
}
