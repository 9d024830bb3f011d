package world

import (
	"math/rand/v2"
	"strings"
)

// Invented words are built from syllables: an onset (or none, sometimes,
// at the start), a vowel, and a consonant coda at the end. There are about
// 790 thousand two-syllable and 98 million three-syllable words. Each seed
// draws its words from its own stream, and the stems that stand alone in a
// name (cities, organisations, works, events) have three syllables, so two
// seeds' worlds share a name with a probability well under 0.1%.
var (
	onsets = [...]string{"b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
		"th", "sh", "br", "dr", "kr", "st", "tr", "gr", "pl", "fl"}
	vowels = [...]string{"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ei", "ou"}
	codas  = [...]string{"", "n", "r", "l", "s", "m", "nd", "rn", "st", "th", "x"}
)

// Name parts that are ordinary English, shared across entities on purpose:
// they give look-alikes the common tokens that confuse lexical retrieval.
var (
	companySuffixes = [...]string{"Dynamics", "Industries", "Systems", "Holdings", "Group", "Works"}
	labSuffixes     = [...]string{"Labs", "Research", "Institute", "Laboratory"}
	uniPatterns     = [...]string{"University of %s", "%s University", "%s College", "%s Polytechnic"}
	countryEndings  = [...]string{"ia", "ora", "esh", "an", ""}
	cityVariants    = [...]string{"New %s", "%s Heights", "Port %s", "Upper %s", "%s Vale"}
	workNouns       = [...]string{"Letters", "Chronicles", "Garden", "Tide", "Winter", "Crossing", "Archive",
		"Harbour", "Lantern", "Orchard", "Mirror", "Voyage", "Tower", "River", "Silence"}
	workKinds  = [...]string{"book", "film", "album"}
	eventKinds = [...]string{"festival", "conference", "championship"}
)

// eventPatterns are event name shapes per kind; %s is an invented word.
func eventPatterns(kind string) []string {
	switch kind {
	case "festival":
		return []string{"%s Festival", "%s Music Festival", "%s Film Festival"}
	case "conference":
		return []string{"%s Summit", "%s Conference", "%s Forum"}
	default:
		return []string{"%s Open", "%s Cup", "%s Marathon"}
	}
}

// workPatterns are title shapes per kind of work: %[1]s is an invented word,
// %[2]s an English noun.
func workPatterns(kind string) []string {
	switch kind {
	case "book":
		return []string{"The %[1]s %[2]s", "%[2]s of %[1]s", "The Last %[2]s of %[1]s"}
	case "film":
		return []string{"%[1]s Rising", "Return to %[1]s", "The %[1]s Affair", "%[1]s %[2]s"}
	default:
		return []string{"%[1]s Nights", "Songs from %[1]s", "%[1]s in Blue", "%[2]s over %[1]s"}
	}
}

// namer draws invented words and whole names, never handing out a name or
// alias twice within one world.
type namer struct {
	r    *rand.Rand
	used map[string]bool
}

func newNamer(r *rand.Rand) *namer { return &namer{r: r, used: map[string]bool{}} }

func (n *namer) pick(list []string) string { return list[n.r.IntN(len(list))] }

// word returns a capitalised invented word of syl syllables (syl >= 2).
// Inner syllables take plain vowels, so words stay easy to say.
func (n *namer) word(syl int) string {
	var b strings.Builder
	for i := 0; i < syl; i++ {
		if i > 0 || n.r.IntN(7) != 0 { // some words start with a vowel
			b.WriteString(n.pick(onsets[:]))
		}
		if i == 0 || i == syl-1 {
			b.WriteString(n.pick(vowels[:]))
		} else {
			b.WriteString(n.pick(vowels[:5]))
		}
	}
	b.WriteString(n.pick(codas[1:])) // a closed final syllable reads as a name
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// claim reserves name if it is free.
func (n *namer) claim(name string) bool {
	if name == "" || n.used[name] {
		return false
	}
	n.used[name] = true
	return true
}

// fresh draws names from gen until one is free, or gives up after a few
// tries (a look-alike whose variants are all taken is simply skipped).
func (n *namer) fresh(gen func() string) (string, bool) {
	for range 50 {
		if s := gen(); n.claim(s) {
			return s, true
		}
	}
	return "", false
}

// aliases keeps the candidate aliases nobody else uses and reserves them, so
// every answer string names exactly one entity.
func (n *namer) aliases(cands ...string) []string {
	var out []string
	for _, a := range cands {
		if n.claim(a) {
			out = append(out, a)
		}
	}
	return out
}
