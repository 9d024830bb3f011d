package fetch

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reading a page's <style> blocks. Rules the matcher can represent exactly
// (tag, .class, #id and [attribute] compounds joined by descendant or
// child combinators, in @media blocks that hold for a desktop screen) are
// applied as written. Rules it can only approximate (pseudo-classes,
// sibling combinators, nested rules, @supports/@layer/@container blocks,
// media features it does not know) are widened: pseudo-classes dropped,
// everything before a sibling combinator dropped. A widened rule matches
// more elements than the browser's, so it is kept only if it hides: it may
// hide too much, never show what the browser hides.

// desktop is the viewport media queries are judged against.
const desktopWidth, desktopHeight = 1280, 800

// add parses css and indexes its rules. hideOnly marks rules from a
// context that may not apply (see above).
func (ss *stylesheet) add(css string, order *int) {
	ss.addRules(stripComments(css), order, false, 0)
}

func (ss *stylesheet) addRules(css string, order *int, hideOnly bool, depth int) {
	if depth > 8 { // nesting deeper than any real stylesheet
		return
	}
	for len(css) > 0 && !ss.overflow {
		open := strings.IndexByte(css, '{')
		if open < 0 {
			return
		}
		prelude := strings.TrimSpace(css[:open])
		end := matchBrace(css, open)
		body := css[open+1 : end]
		css = css[min(end+1, len(css)):]
		// A stray "x;" before the rule (from a broken declaration) is junk.
		if i := strings.LastIndexByte(prelude, ';'); i >= 0 {
			prelude = strings.TrimSpace(prelude[i+1:])
		}
		if strings.HasPrefix(prelude, "@") {
			ss.addAtRule(prelude, body, order, hideOnly, depth)
			continue
		}
		decls, nested := splitNested(body)
		if nested != "" {
			ss.addRules(strings.ReplaceAll(nested, "&", ""), order, true, depth+1)
		}
		ss.addRule(prelude, decls, order, hideOnly)
	}
}

func (ss *stylesheet) addAtRule(prelude, body string, order *int, hideOnly bool, depth int) {
	name, rest, _ := strings.Cut(strings.ToLower(prelude), " ")
	if i := strings.IndexByte(name, '('); i >= 0 { // "@media(min-width:1px)"
		name, rest = name[:i], name[i:]+" "+rest
	}
	switch name {
	case "@media":
		applies, certain := evalMediaList(rest)
		if applies {
			ss.addRules(body, order, hideOnly || !certain, depth+1)
		}
	case "@supports", "@layer", "@container", "@scope", "@document", "@starting-style":
		ss.addRules(body, order, true, depth+1)
	}
	// @font-face, @keyframes, @page, @import and the like hide nothing.
}

func (ss *stylesheet) addRule(prelude, body string, order *int, hideOnly bool) {
	decls := map[string]string{}
	parseDecls(body, decls)
	if len(decls) == 0 {
		return
	}
	for _, s := range splitTopLevel(prelude, ',') {
		sel, spec, approx, ok := parseSelector(s)
		if !ok {
			continue
		}
		if (hideOnly || approx) && !hiddenByStyle(decls) {
			continue
		}
		*order++
		ss.index(&cssRule{sel: sel, spec: spec, order: *order, decls: decls})
	}
}

// splitNested separates a rule body's own declarations from nested rules.
func splitNested(body string) (decls, nested string) {
	if !strings.ContainsRune(body, '{') {
		return body, ""
	}
	var d, n strings.Builder
	for {
		open := strings.IndexByte(body, '{')
		if open < 0 {
			d.WriteString(body)
			break
		}
		semi := strings.LastIndexByte(body[:open], ';')
		d.WriteString(body[:semi+1])
		end := min(matchBrace(body, open)+1, len(body))
		n.WriteString(body[semi+1 : end])
		body = body[end:]
	}
	return d.String(), n.String()
}

// splitTopLevel splits s at sep outside brackets, parentheses and quotes.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == sep && depth <= 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// pseudoElements select generated boxes, not the element: a rule for them
// says nothing about the element's own text.
var pseudoElements = map[string]bool{
	"before": true, "after": true, "first-line": true, "first-letter": true, "marker": true,
	"placeholder": true, "selection": true, "backdrop": true, "file-selector-button": true,
}

// parseSelector parses one complex selector. approx reports that it was
// widened (pseudo-classes or sibling combinators dropped); ok is false for
// selectors it cannot use at all.
func parseSelector(s string) (sel []compound, spec int, approx, ok bool) {
	var cur compound
	empty := true
	finish := func() {
		if !empty {
			sel = append(sel, cur)
		}
		cur, empty = compound{}, true
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '>':
			finish()
			i++
		case c == '+' || c == '~':
			finish()
			sel, spec, approx = nil, 0, true // keep only what follows
			i++
		case c == '*':
			empty = false
			i++
		case c == '.' || c == '#':
			name, j := readIdent(s, i+1)
			if name == "" {
				return nil, 0, false, false
			}
			if c == '.' {
				cur.classes = append(cur.classes, name)
				spec += 10
			} else {
				cur.id = name
				spec += 100
			}
			empty, i = false, j
		case c == '[':
			a, j, good := parseAttrSel(s, i)
			if !good {
				return nil, 0, false, false
			}
			cur.attrs = append(cur.attrs, a)
			spec += 10
			empty, i = false, j
		case c == ':':
			if strings.HasPrefix(s[i:], "::") {
				return nil, 0, false, false
			}
			name, j := readIdent(s, i+1)
			name = strings.ToLower(name)
			if pseudoElements[name] || name == "" {
				return nil, 0, false, false
			}
			arg := ""
			if j < len(s) && s[j] == '(' {
				k := skipParens(s, j)
				arg, j = s[j+1:max(k-1, j+1)], k
			}
			if ps, exact := parsePseudo(name, arg); exact {
				cur.pseudos = append(cur.pseudos, ps)
			} else {
				approx = true
			}
			spec += 10
			empty, i = false, j // ":hover" alone is "*:hover"
		case isIdentStart(c):
			name, j := readIdent(s, i)
			cur.tag = strings.ToLower(name)
			spec++
			empty, i = false, j
		default:
			return nil, 0, false, false
		}
	}
	finish()
	if len(sel) == 0 {
		return nil, 0, false, false
	}
	if last := sel[len(sel)-1]; approx && last.tag == "" && last.id == "" && len(last.classes) == 0 &&
		len(last.attrs) == 0 && len(last.pseudos) == 0 {
		// Widened to "any element": applying it would hide the page.
		return nil, 0, false, false
	}
	return sel, spec, approx, true
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c >= 0x80 || c == '\\'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// readIdent reads a CSS identifier at i, resolving escapes (\68 or \h).
func readIdent(s string, i int) (string, int) {
	var b strings.Builder
	for i < len(s) && isIdentChar(s[i]) {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 >= len(s) {
			return b.String(), i + 1
		}
		j := i + 1
		for j < len(s) && j-i <= 6 && isHex(s[j]) {
			j++
		}
		if j == i+1 {
			r, w := utf8.DecodeRuneInString(s[j:])
			b.WriteRune(r)
			i = j + w
			continue
		}
		n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
		if n == 0 || n > unicode.MaxRune || n >= 0xD800 && n <= 0xDFFF {
			n = unicode.ReplacementChar
		}
		b.WriteRune(rune(n))
		if j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n') {
			j++
		}
		i = j
	}
	return b.String(), i
}

func skipParens(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// parseAttrSel parses "[name op value flag]" starting at s[i] == '['.
func parseAttrSel(s string, i int) (attrSel, int, bool) {
	end := i + 1
	var quote byte
	for ; end < len(s); end++ {
		c := s[end]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		if c == '"' || c == '\'' {
			quote = c
		} else if c == ']' {
			break
		}
	}
	if end >= len(s) {
		return attrSel{}, 0, false
	}
	inner := strings.TrimSpace(s[i+1 : end])
	var a attrSel
	name, j := readIdent(inner, 0)
	if name == "" {
		return attrSel{}, 0, false
	}
	a.name = strings.ToLower(name)
	rest := strings.TrimSpace(inner[j:])
	if rest == "" {
		return a, end + 1, true
	}
	for _, op := range []string{"~=", "|=", "^=", "$=", "*=", "="} {
		if strings.HasPrefix(rest, op) {
			a.op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if a.op == "" {
		return attrSel{}, 0, false
	}
	if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
		q := rest[0]
		k := strings.IndexByte(rest[1:], q)
		if k < 0 {
			return attrSel{}, 0, false
		}
		a.val, rest = cssUnescape(rest[1:1+k]), strings.TrimSpace(rest[2+k:])
	} else {
		a.val, j = readIdent(rest, 0)
		rest = strings.TrimSpace(rest[j:])
	}
	switch strings.ToLower(rest) {
	case "":
	case "i":
		a.fold = true
	case "s":
	default:
		return attrSel{}, 0, false
	}
	return a, end + 1, true
}

// evalMediaList judges a media query list for a desktop screen: applies
// if any query may hold; certain if one surely holds.
func evalMediaList(q string) (applies, certain bool) {
	q = strings.TrimSpace(q)
	if q == "" {
		return true, true
	}
	for _, one := range splitTopLevel(q, ',') {
		a, c := evalMedia(strings.TrimSpace(one))
		applies = applies || a
		certain = certain || a && c
	}
	return applies, certain
}

func evalMedia(q string) (applies, certain bool) {
	neg := false
	if rest, ok := strings.CutPrefix(q, "not "); ok {
		neg, q = true, rest
	}
	q = strings.TrimPrefix(q, "only ")
	applies, certain = true, true
	for _, part := range strings.Split(q, " and ") {
		a, c := evalMediaPart(strings.TrimSpace(part))
		applies, certain = applies && a, certain && c
		if !a && c {
			break
		}
	}
	if !certain {
		return true, false // unknown: assume it may apply
	}
	if neg {
		applies = !applies
	}
	return applies, true
}

func evalMediaPart(p string) (applies, certain bool) {
	switch p {
	case "all", "screen", "":
		return true, true
	case "print", "speech", "tty", "tv", "projection", "handheld", "braille", "embossed", "aural":
		return false, true
	}
	inner, ok := strings.CutPrefix(p, "(")
	if !ok {
		return true, false
	}
	inner = strings.TrimSuffix(inner, ")")
	name, val, _ := strings.Cut(inner, ":")
	name, val = strings.TrimSpace(name), strings.TrimSpace(val)
	px, isLen := cssLength(val)
	switch {
	case name == "min-width" && isLen:
		return px <= desktopWidth, true
	case name == "max-width" && isLen:
		return px >= desktopWidth, true
	case name == "min-height" && isLen:
		return px <= desktopHeight, true
	case name == "max-height" && isLen:
		return px >= desktopHeight, true
	case name == "orientation":
		return val == "landscape", true
	}
	return true, false
}

// pseudo is a pseudo-class the matcher evaluates exactly.
type pseudo struct {
	kind string     // "not", "is", "has", "nth-child" (first-child is 0n+1), "last-child", "only-child", "root"
	a, b int        // nth-child(an+b)
	alts []compound // the arguments of :not, :is and :has, one compound each
}

// parsePseudo returns the pseudo-class when it can be matched exactly:
// :not(), :is() (and :where, :matches, :any) and :has() of compounds,
// :first-child, :last-child, :only-child,
// :nth-child(an+b | odd | even) and :root. Others (dynamic states such as
// :hover, :is(), :has()) widen the selector instead.
func parsePseudo(name, arg string) (pseudo, bool) {
	switch name {
	case "first-child":
		return pseudo{kind: "nth-child", a: 0, b: 1}, true
	case "last-child", "only-child", "root":
		return pseudo{kind: name}, true
	case "nth-child":
		a, b, ok := parseNth(arg)
		return pseudo{kind: name, a: a, b: b}, ok
	case "not", "is", "where", "matches", "any", "has":
		var alts []compound
		for _, one := range splitTopLevel(arg, ',') {
			one = strings.TrimPrefix(strings.TrimSpace(one), ">") // :has(> x): child taken as descendant
			sel, _, approx, ok := parseSelector(one)
			if !ok || approx || len(sel) != 1 {
				return pseudo{}, false
			}
			alts = append(alts, sel[0])
		}
		kind := name
		if kind != "not" && kind != "has" {
			kind = "is"
		}
		return pseudo{kind: kind, alts: alts}, true
	}
	return pseudo{}, false
}

// parseNth parses an+b, odd and even.
func parseNth(s string) (a, b int, ok bool) {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	switch s {
	case "odd":
		return 2, 1, true
	case "even":
		return 2, 0, true
	}
	before, after, hasN := strings.Cut(s, "n")
	if !hasN {
		n, err := strconv.Atoi(s)
		return 0, n, err == nil
	}
	switch before {
	case "", "+":
		a = 1
	case "-":
		a = -1
	default:
		n, err := strconv.Atoi(before)
		if err != nil {
			return 0, 0, false
		}
		a = n
	}
	if after != "" {
		n, err := strconv.Atoi(after)
		if err != nil {
			return 0, 0, false
		}
		b = n
	}
	return a, b, true
}
