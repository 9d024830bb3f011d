// Package zipf generates the deterministic benchmark corpus used to compare
// retrieval engines: passages of Zipf-distributed pseudo-words and short
// queries drawn from the same distribution. The same Config always yields
// the same passages and queries, in every process and on every machine.
package zipf

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// Config describes a generated corpus. Zero fields take the defaults noted.
type Config struct {
	Passages  int     // number of passages (default 200,000)
	Vocab     int     // distinct words (default 100,000)
	MeanWords int     // mean words per passage; lengths are uniform in [MeanWords/2, 3*MeanWords/2] (default 100)
	S         float64 // Zipf exponent, > 1 as math/rand requires (default 1.07, close to English)
	Seed      uint64  // default 1
	// QueryMinRank, when positive, draws query words only from frequency
	// ranks ≥ QueryMinRank, as if the most frequent words were stopwords
	// that a search front end drops (0: queries use the whole distribution,
	// so many are made only of words found in most passages).
	QueryMinRank int
	// QueryMaxRank, when positive, draws query words only from frequency
	// ranks < QueryMaxRank.
	QueryMaxRank int
}

// Mix names a kind of query (see WithMix).
type Mix string

// The query mixes the benchmarks measure.
const (
	// MixHead draws query words from the whole distribution, so many
	// queries are made only of words found in most passages.
	MixHead Mix = "head"
	// MixContent drops the 100 most frequent words, as a search front end
	// drops stopwords.
	MixContent Mix = "content"
	// MixMid draws every query word from the words expected in 0.05% to
	// 2% of the passages, as the content words of real questions mostly are.
	MixMid Mix = "mid"
)

// Mixes lists every mix, in the order benchmarks report them.
var Mixes = []Mix{MixHead, MixContent, MixMid}

// WithMix returns cfg with its query ranks set for mix m.
func (c Config) WithMix(m Mix) (Config, error) {
	c.QueryMinRank, c.QueryMaxRank = 0, 0
	switch m {
	case MixHead:
	case MixContent:
		c.QueryMinRank = 100
	case MixMid:
		c.QueryMinRank, c.QueryMaxRank = DocFractionRanks(c, 0.02, 0.0005)
	default:
		return c, fmt.Errorf("query mix %q: want one of head, content, mid", m)
	}
	return c, nil
}

// DocFractionRanks returns the frequency ranks [lo, hi) of the words
// expected in at most hiFrac and at least loFrac of the passages' texts,
// from the distribution itself: word k has probability p = (k+1)^-s / H,
// and a passage of L words lacks it with probability (1-p)^L, averaged
// over the uniform lengths.
func DocFractionRanks(cfg Config, hiFrac, loFrac float64) (lo, hi int) {
	cfg = cfg.withDefaults()
	var h float64
	for k := range cfg.Vocab {
		h += math.Pow(float64(k+1), -cfg.S)
	}
	minL, n := cfg.MeanWords/2, cfg.MeanWords+1
	frac := func(k int) float64 {
		q := 1 - math.Pow(float64(k+1), -cfg.S)/h
		absent := 0.0
		for l := minL; l < minL+n; l++ {
			absent += math.Pow(q, float64(l))
		}
		return 1 - absent/float64(n)
	}
	lo = sort.Search(cfg.Vocab, func(k int) bool { return frac(k) <= hiFrac })
	hi = sort.Search(cfg.Vocab, func(k int) bool { return frac(k) < loFrac })
	return lo, max(hi, lo+1)
}

func (c Config) withDefaults() Config {
	if c.Passages <= 0 {
		c.Passages = 200_000
	}
	if c.Vocab <= 0 {
		c.Vocab = 100_000
	}
	if c.MeanWords <= 0 {
		c.MeanWords = 100
	}
	if c.S <= 1 {
		c.S = 1.07
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

var syllables = [...]string{
	"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "do", "fe", "gi", "ha", "ju",
	"ke", "la", "mo", "nu", "pi", "qua", "re", "si", "to", "ul", "ven", "wi", "xo", "ya", "zu",
	"ar", "el", "in", "or", "um", "bri", "cla", "dra", "fro", "gle", "pra", "sto", "tre", "vil",
}

// Word returns the pseudo-word of frequency rank i (0 is the most frequent).
// Distinct ranks give distinct words: the syllables spell i in base 44,
// and frequent words are short, as in natural language.
func Word(i int) string {
	var b strings.Builder
	n := i
	for {
		b.WriteString(syllables[n%len(syllables)])
		n /= len(syllables)
		if n == 0 {
			break
		}
		n-- // bijective numeration: every length is used fully
	}
	return b.String()
}

type gen struct {
	r     *rand.Rand
	z     *rand.Zipf
	words []string
	cfg   Config
}

func newGen(cfg Config, stream uint64) *gen {
	r := rand.New(rand.NewPCG(cfg.Seed, stream))
	words := make([]string, cfg.Vocab)
	for i := range words {
		words[i] = Word(i)
	}
	return &gen{r: r, z: rand.NewZipf(r, cfg.S, 1, uint64(cfg.Vocab-1)), words: words, cfg: cfg}
}

// Passages yields cfg.Passages passages with ids "0", "1", … and titles
// "doc N"; the text is space-separated pseudo-words.
func Passages(cfg Config) iter.Seq[corpus.Passage] {
	cfg = cfg.withDefaults()
	return func(yield func(corpus.Passage) bool) {
		g := newGen(cfg, 0x5eed)
		var b strings.Builder
		lo := cfg.MeanWords / 2
		for i := 0; i < cfg.Passages; i++ {
			n := lo + g.r.IntN(cfg.MeanWords+1)
			b.Reset()
			for j := 0; j < n; j++ {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(g.words[g.z.Uint64()])
			}
			id := strconv.Itoa(i)
			if !yield(corpus.Passage{ID: id, Title: "doc " + id, Text: b.String()}) {
				return
			}
		}
	}
}

// Queries returns n queries of 2 to 6 distinct words drawn from the corpus
// distribution with a stream independent of the passages'.
func Queries(cfg Config, n int) []string {
	cfg = cfg.withDefaults()
	g := newGen(cfg, 0x9e7)
	out := make([]string, n)
	for i := range out {
		terms := 2 + g.r.IntN(5)
		seen := make(map[uint64]bool, terms)
		parts := make([]string, 0, terms)
		for len(parts) < terms {
			w := g.z.Uint64()
			if seen[w] || int(w) < cfg.QueryMinRank || (cfg.QueryMaxRank > 0 && int(w) >= cfg.QueryMaxRank) {
				continue
			}
			seen[w] = true
			parts = append(parts, g.words[w])
		}
		out[i] = strings.Join(parts, " ")
	}
	return out
}
