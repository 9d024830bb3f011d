package guard

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A keyword pre-filter: most text an agent reads holds no injection, and
// running every rule's regular expression over it costs about a
// millisecond per passage. Each rule gets, from its own parsed pattern,
// a set of strings at least one of which every match must contain (the
// factors of a concatenation, the union over an alternation); a rule runs
// only when the folded text holds one of them. The sets are derived, not
// written by hand, so they stay true when a rule changes.

// maxClassRunes is the largest character class whose runes become
// keywords of their own; wider classes say nothing. maxKeys bounds a
// set built as a cross product.
const (
	maxClassRunes = 4
	maxKeys       = 64
)

// keywords returns strings at least one of which (case-folded with fold)
// occurs in every match of re, or ok false when no such set is known.
// exact says each match of re is one of the strings in full, so adjacent
// exact parts of a concatenation combine into longer keywords.
func keywords(re *syntax.Regexp) (set []string, exact, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false, false
		}
		return []string{fold(string(re.Rune))}, true, true
	case syntax.OpCharClass:
		var runes []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(runes) == maxClassRunes {
					return nil, false, false
				}
				runes = append(runes, fold(string(r)))
			}
		}
		return dedup(runes), true, len(runes) > 0
	case syntax.OpCapture:
		return keywords(re.Sub[0])
	case syntax.OpPlus:
		set, _, ok := keywords(re.Sub[0])
		return set, false, ok
	case syntax.OpRepeat:
		if re.Min >= 1 {
			set, _, ok := keywords(re.Sub[0])
			return set, false, ok
		}
	case syntax.OpAlternate:
		var all []string
		exact := true
		for _, sub := range re.Sub {
			s, e, ok := keywords(sub)
			if !ok {
				return nil, false, false
			}
			all, exact = append(all, s...), exact && e
		}
		return dedup(all), exact, true
	case syntax.OpConcat:
		return concatKeywords(re.Sub)
	}
	return nil, false, false
}

// concatKeywords picks, among the factors of a concatenation and the
// runs of adjacent exact factors joined as cross products, the set whose
// shortest keyword is longest: it rejects the most text.
func concatKeywords(subs []*syntax.Regexp) (set []string, exact, ok bool) {
	var best, run []string
	consider := func(s []string) {
		if s != nil && (best == nil || shortest(s) > shortest(best)) {
			best = s
		}
	}
	exact = true
	for _, sub := range subs {
		s, e, ok := keywords(sub)
		switch {
		case ok && e && (run == nil || len(run)*len(s) <= maxKeys):
			run = cross(run, s)
			continue
		case ok && e: // too many combinations: start a new run here
			consider(run)
			run = s
			exact = false
			continue
		}
		exact = false
		consider(run)
		run = nil
		if ok {
			consider(s)
		}
	}
	consider(run)
	return best, exact && best != nil, best != nil
}

// cross returns every a+b for a in as (none: just bs) and b in bs.
func cross(as, bs []string) []string {
	if as == nil {
		return bs
	}
	out := make([]string, 0, len(as)*len(bs))
	for _, a := range as {
		for _, b := range bs {
			out = append(out, a+b)
		}
	}
	return dedup(out)
}

func shortest(set []string) int {
	n := -1
	for _, s := range set {
		if l := utf8.RuneCountInString(s); n < 0 || l < n {
			n = l
		}
	}
	return n
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// fold maps every rune to the smallest rune of its simple case-folding
// orbit, as (?i) matching compares them: a text matched by a pattern,
// case-insensitively or not, folds to what the pattern's literal folds to.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s) // ASCII letters' orbits hold K and S's non-ASCII kin, which this text has not
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return unicode.ToLower(r)
	}
	lo := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lo = min(lo, f)
	}
	if lo < utf8.RuneSelf {
		return unicode.ToLower(lo) // K (Kelvin) and ſ fold with ASCII k and s
	}
	return lo
}

// ruleKeys holds each rule's keywords (rules[i]'s at i; nil: unknown).
var ruleKeys = keywordsOf(rules)

// mayMatch reports whether the folded text holds one of rule i's
// keywords; a rule without keywords may always match.
func mayMatch(i int, folded string) bool {
	keys := ruleKeys[i]
	if keys == nil {
		return true
	}
	for _, k := range keys {
		if strings.Contains(folded, k) {
			return true
		}
	}
	return false
}

// keywordsOf derives each rule's keywords from its pattern.
func keywordsOf(rs []rule) [][]string {
	out := make([][]string, len(rs))
	for i, r := range rs {
		re, err := syntax.Parse(r.re.String(), syntax.Perl)
		if err != nil {
			continue // MustCompile accepted it; leave the rule unfiltered
		}
		if set, _, ok := keywords(re.Simplify()); ok {
			out[i] = set
		}
	}
	return out
}
