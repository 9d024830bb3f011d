package bm25

import (
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// AnalyzerConfig selects the optional analysis steps. Tokenisation,
// lowercasing and accent folding always apply. It is recorded in the index
// so queries are analysed exactly as the passages were.
type AnalyzerConfig struct {
	// Stem applies the Snowball English (Porter2) stemmer.
	Stem bool `json:"stem"`
	// Stopwords drops Lucene's 33 English stopwords.
	Stopwords bool `json:"stopwords"`
}

// stopwords is Lucene's EnglishAnalyzer default set.
var stopwords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "but": true,
	"by": true, "for": true, "if": true, "in": true, "into": true, "is": true, "it": true, "no": true,
	"not": true, "of": true, "on": true, "or": true, "such": true, "that": true, "the": true,
	"their": true, "then": true, "there": true, "these": true, "they": true, "this": true, "to": true,
	"was": true, "will": true, "with": true,
}

// analyzer turns text into terms. It is not safe for concurrent use: it
// keeps a token buffer and a cache from raw tokens to final terms, so each
// goroutine owns one.
type analyzer struct {
	cfg   AnalyzerConfig
	buf   []byte
	fold  []byte
	cache map[string][]byte // raw lowercased token -> term (empty = dropped)
}

func newAnalyzer(cfg AnalyzerConfig) *analyzer {
	return &analyzer{cfg: cfg, cache: make(map[string][]byte)}
}

// each calls fn with every term of s in order. The slice passed to fn is
// reused after fn returns.
func (a *analyzer) each(s string, fn func(term []byte)) {
	a.buf = a.buf[:0]
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII fast path
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				a.buf = append(a.buf, c)
			case c >= 'A' && c <= 'Z':
				a.buf = append(a.buf, c+('a'-'A'))
			default:
				a.flush(fn)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case unicode.Is(unicode.Mn, r):
			// A combining mark continues the word and is folded away.
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mc, unicode.Me):
			// A spacing or enclosing mark (a Devanagari vowel sign) is part
			// of its word and kept: folding keeps it too (NFD of "ᬌ" is
			// "ᬋ" and a spacing mark), so a term must analyse to itself.
			a.buf = a.appendFolded(a.buf, r)
		default:
			a.flush(fn)
		}
	}
	a.flush(fn)
}

// appendFolded appends r lowercased with its accents removed (NFD, then
// nonspacing marks dropped).
func (a *analyzer) appendFolded(dst []byte, r rune) []byte {
	var tmp [utf8.UTFMax]byte
	n := utf8.EncodeRune(tmp[:], r)
	a.fold = norm.NFD.Append(a.fold[:0], tmp[:n]...)
	for j := 0; j < len(a.fold); {
		q, m := utf8.DecodeRune(a.fold[j:])
		j += m
		if unicode.Is(unicode.Mn, q) {
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(q))
	}
	return dst
}

func (a *analyzer) flush(fn func([]byte)) {
	if len(a.buf) == 0 {
		return
	}
	if !a.cfg.Stem && !a.cfg.Stopwords {
		fn(a.buf)
		a.buf = a.buf[:0]
		return
	}
	t, ok := a.cache[string(a.buf)]
	if !ok {
		raw := string(a.buf)
		switch {
		case a.cfg.Stopwords && stopwords[raw]:
			t = []byte{}
		case a.cfg.Stem:
			t = []byte(english.Stem(raw, true))
		default:
			t = []byte(raw)
		}
		a.cache[raw] = t
	}
	a.buf = a.buf[:0]
	if len(t) > 0 {
		fn(t)
	}
}

// Terms returns the terms of s under cfg, in order, with repeats.
func (cfg AnalyzerConfig) Terms(s string) []string {
	var out []string
	newAnalyzer(cfg).each(s, func(t []byte) { out = append(out, string(t)) })
	return out
}
