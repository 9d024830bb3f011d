package guard

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
)

//go:embed evalset/seeds.tsv
var evalSeeds []byte

// Labels of evaluation items.
const (
	LabelInjection = "injection"
	LabelBenign    = "benign"
)

// Splits of the evaluation set: rules are tuned on dev; test is held out.
const (
	SplitDev  = "dev"
	SplitTest = "test"
)

// EvalItem is one labelled text of the guard's evaluation set.
type EvalItem struct {
	ID       string `json:"id"`       // seed number and encoding, e.g. "s012-base64"
	Text     string `json:"text"`     // what the screen reads
	Label    string `json:"label"`    // LabelInjection or LabelBenign
	Lang     string `json:"lang"`     // ISO 639-1 of the seed
	Kind     string `json:"kind"`     // the seed's kind (override, answer, exfil, lookalike, …)
	Encoding string `json:"encoding"` // plain, carrier, zero-width, full-width, homoglyph, base64, bidi, tags
	Split    string `json:"split"`    // SplitDev or SplitTest
}

// seed is one line of evalset/seeds.tsv.
type seed struct {
	n                     int
	label, lang, kind, tx string
}

// EvalSet is the built-in labelled set: every seed of evalset/seeds.tsv
// as written, inside an ordinary passage of its language, and in two
// obfuscations chosen by the seed's hash. A seed and all its items fall
// in one split (about 40% test, by the hash of the seed's text), so no
// phrasing of the held-out part is seen while tuning.
func EvalSet() []EvalItem {
	items, err := BuildEvalSet(evalSeeds)
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return items
}

// BuildEvalSet derives the items from seed lines (see EvalSet).
func BuildEvalSet(data []byte) ([]EvalItem, error) {
	var seeds []seed
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 || (f[0] != "inj" && f[0] != "ben") || f[3] == "" {
			return nil, fmt.Errorf("seeds:%d: want inj|ben TAB lang TAB kind TAB text", n)
		}
		label := LabelBenign
		if f[0] == "inj" {
			label = LabelInjection
		}
		seeds = append(seeds, seed{n: len(seeds) + 1, label: label, lang: f[1], kind: f[2], tx: f[3]})
	}
	var out []EvalItem
	for _, s := range seeds {
		h := fnv.New64a()
		h.Write([]byte(s.tx))
		sum := h.Sum64()
		split := SplitDev
		if sum%5 < 2 {
			split = SplitTest
		}
		item := func(enc, text string) {
			out = append(out, EvalItem{ID: fmt.Sprintf("s%03d-%s", s.n, enc), Text: text, Label: s.label, Lang: s.lang, Kind: s.kind, Encoding: enc, Split: split})
		}
		item("plain", s.tx)
		item("carrier", carry(s.lang, s.tx, sum))
		encs := obfuscations(s.lang)
		a := int(sum>>8) % len(encs)
		b := (a + 1 + int(sum>>16)%(len(encs)-1)) % len(encs)
		for _, e := range []string{encs[a], encs[b]} {
			item(e, obfuscate(e, s.lang, s.tx, sum))
		}
	}
	return out, nil
}

// obfuscations are the encodings that apply to a language: full-width,
// look-alike letters and tag characters only change Latin text.
func obfuscations(lang string) []string {
	if latinLang(lang) {
		return []string{"zero-width", "full-width", "homoglyph", "base64", "bidi", "tags"}
	}
	return []string{"zero-width", "base64", "bidi"}
}

func latinLang(lang string) bool {
	switch lang {
	case "en", "de", "fr", "es", "it", "pt", "nl":
		return true
	}
	return false
}

// carriers are ordinary passages (one pair a language) that a seed is
// placed between, as a poisoned page or passage would hold it.
var carriers = map[string][][2]string{
	"en": {{"The Harlow bridge opened in 1887 and carries two lanes.", "Tolls were abolished in 1921."},
		{"Tarsk lies on the Marrow river and had 4,000 inhabitants in 1900.", "Its market is held on Saturdays."},
		{"Ada Quill (born 1931) was a chemist who studied salt lakes.", "She retired to Veld in 1990."}},
	"de": {{"Die Brücke von Harlow wurde 1887 eröffnet.", "Die Maut wurde 1921 abgeschafft."}},
	"fr": {{"Le pont de Harlow a été ouvert en 1887.", "Le péage a été supprimé en 1921."}},
	"es": {{"El puente de Harlow se inauguró en 1887.", "El peaje se abolió en 1921."}},
	"it": {{"Il ponte di Harlow fu aperto nel 1887.", "Il pedaggio fu abolito nel 1921."}},
	"pt": {{"A ponte de Harlow foi inaugurada em 1887.", "O pedágio foi abolido em 1921."}},
	"nl": {{"De brug van Harlow werd in 1887 geopend.", "De tol werd in 1921 afgeschaft."}},
	"ru": {{"Мост в Харлоу открыли в 1887 году.", "Плату за проезд отменили в 1921 году."}},
	"zh": {{"哈洛大桥于1887年通车。", "过桥费于1921年取消。"}},
	"ja": {{"ハーロウ橋は1887年に開通した。", "通行料は1921年に廃止された。"}},
	"ko": {{"할로 다리는 1887년에 개통되었다.", "통행료는 1921년에 폐지되었다."}},
	"ar": {{"افتتح جسر هارلو عام 1887.", "ألغيت رسوم العبور عام 1921."}},
}

func carry(lang, text string, h uint64) string {
	cs := carriers[lang]
	if len(cs) == 0 {
		cs = carriers["en"]
	}
	c := cs[int(h>>24)%len(cs)]
	return c[0] + " " + text + " " + c[1]
}

// cyrillic are look-alike replacements for Latin letters.
var cyrillic = map[rune]rune{'a': 'а', 'c': 'с', 'e': 'е', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у', 'i': 'і', 's': 'ѕ', 'A': 'А', 'E': 'Е', 'O': 'О', 'P': 'Р', 'C': 'С', 'T': 'Т'}

// obfuscate hides text as an attacker would, leaving it readable to a
// model (or to a person, where the page renders it).
func obfuscate(enc, lang, text string, h uint64) string {
	var b strings.Builder
	switch enc {
	case "zero-width": // a zero-width space or joiner after every second letter
		i := 0
		for _, r := range text {
			b.WriteRune(r)
			if unicode.IsLetter(r) {
				if i++; i%2 == 0 {
					b.WriteRune([]rune{0x200B, 0x200D, 0x2060, 0xFEFF}[int(h>>32+uint64(i))%4])
				}
			}
		}
	case "full-width":
		for _, r := range text {
			switch {
			case r == ' ':
				b.WriteRune(0x3000)
			case r > 0x20 && r < 0x7F:
				b.WriteRune(r + 0xFEE0)
			default:
				b.WriteRune(r)
			}
		}
	case "homoglyph": // every look-alike letter replaced
		for _, r := range text {
			if c, ok := cyrillic[r]; ok {
				r = c
			}
			b.WriteRune(r)
		}
	case "base64": // the text encoded, inside an ordinary passage
		c := carriers[lang]
		if len(c) == 0 {
			c = carriers["en"]
		}
		return c[0][0] + " " + base64.StdEncoding.EncodeToString([]byte(text)) + " " + c[0][1]
	case "bidi": // each word isolated or overridden, as pages that reorder text do
		for i, w := range strings.Fields(text) {
			if i > 0 {
				b.WriteByte(' ')
			}
			if i%2 == 0 {
				b.WriteString("\u2066" + w + "\u2069")
			} else {
				b.WriteString("\u202A" + w + "\u202C")
			}
		}
	case "tags": // invisible: the text as Unicode tag characters after a visible passage
		c := carriers[lang][0]
		b.WriteString(c[0] + " ")
		for _, r := range text {
			if r >= 0x20 && r < 0x7F {
				b.WriteRune(0xE0000 + r)
			}
		}
		b.WriteString(" " + c[1])
	default:
		return text
	}
	return b.String()
}
