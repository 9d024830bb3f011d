package world

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// factTemplates are the paraphrases a fact may be stated in; {s} is the
// subject, {o} the object's name or the literal. Several relations share
// wording ("was born in 1931" / "was born in Dravost") on purpose.
func factTemplates(rel string) []string {
	switch rel {
	case BornIn:
		return []string{"{s} was born in {o}.", "{s} was born in the city of {o}.", "{o} is the birthplace of {s}.", "{s}'s birthplace is {o}."}
	case BirthYear:
		return []string{"{s} was born in {o}.", "{s} was born in the year {o}.", "Records give {o} as the year of {s}'s birth."}
	case EducatedAt:
		return []string{"{s} studied at {o}.", "{s} was educated at {o}.", "{s} graduated from {o}.", "{s} is a graduate of {o}."}
	case Employer:
		return []string{"{s} works for {o}.", "{s} is employed by {o}.", "{s} holds a position at {o}.", "{s} joined the staff of {o}."}
	case Spouse:
		return []string{"{s} is married to {o}.", "{s}'s spouse is {o}.", "{s} married {o}."}
	case FoundedBy:
		return []string{"{s} was founded by {o}.", "{o} founded {s}.", "{s} was established by {o}.", "The founder of {s} is {o}."}
	case FoundedYear:
		return []string{"{s} was founded in {o}.", "{s} was established in {o}.", "{s} has existed since its founding in {o}."}
	case HeadquarteredIn:
		return []string{"{s} is headquartered in {o}.", "{s} has its headquarters in {o}.", "The headquarters of {s} are in {o}.", "{s} is based in {o}."}
	case CampusIn:
		return []string{"{s} is located in {o}.", "The campus of {s} is in {o}.", "{s} has its main campus in {o}."}
	case LocatedIn:
		return []string{"{s} is a city in {o}.", "{s} is located in {o}.", "{s} lies in {o}.", "{s} is part of {o}."}
	case Capital:
		return []string{"The capital of {s} is {o}.", "{o} is the capital of {s}.", "{s} is governed from its capital, {o}."}
	case Population:
		return []string{"{s} has a population of {o}.", "About {o} people live in {s}.", "{s} is home to roughly {o} inhabitants."}
	case WrittenBy:
		return []string{"{s} was written by {o}.", "{o} is the author of {s}.", "{s} is a book by {o}."}
	case DirectedBy:
		return []string{"{s} was directed by {o}.", "{o} directed {s}.", "{s} is a film by director {o}."}
	case RecordedBy:
		return []string{"{s} was recorded by {o}.", "{s} is an album by {o}.", "{o} released the album {s}."}
	case ReleaseYear:
		return []string{"{s} was released in {o}.", "{s} first appeared in {o}.", "{s} came out in {o}."}
	case HeldIn:
		return []string{"{s} is held in {o}.", "{s} takes place in {o}.", "{o} hosts {s}.", "{s} is staged each year in {o}."}
	case OrganisedBy:
		return []string{"{s} is organised by {o}.", "{o} organises {s}.", "{s} is run by {o}."}
	case FirstHeld:
		return []string{"{s} was first held in {o}.", "{s} began in {o}.", "The first edition of {s} took place in {o}."}
	}
	return nil
}

var (
	professions = [...]string{"engineer", "novelist", "economist", "architect", "physician", "composer",
		"historian", "chemist", "diplomat", "photographer", "mathematician", "painter"}
	placeAdjectives = [...]string{"small", "coastal", "river", "hill", "industrial", "market", "northern", "southern"}
	sectors         = [...]string{"shipping", "software", "textile", "mining", "aerospace", "publishing", "energy"}
	fields          = [...]string{"materials", "genomics", "acoustics", "climate", "robotics", "optics"}
	fillers         = [...]string{
		"{s} is mentioned in several regional histories.",
		"Little is recorded about the early years of {s}.",
		"Accounts of {s} differ in minor details.",
		"{s} has been the subject of a number of studies.",
		"Local archives hold further material on {s}.",
		"Much of what is known about {s} comes from later sources.",
		"{s} received renewed attention in recent decades.",
		"Several reference works include an entry on {s}.",
	}
)

// intro opens an entity's first passage with what it is.
func (k *kb) intro(r *rand.Rand, e int) string {
	ent := k.entities[e]
	pick := func(l []string) string { return l[r.IntN(len(l))] }
	var what string
	switch ent.Type {
	case Person:
		what = article(pick(professions[:]))
	case City:
		what = article(pick(placeAdjectives[:]) + " city")
	case Country:
		what = article(pick([]string{"landlocked", "coastal", "mountainous", "island"}) + " country")
	case Organisation:
		switch ent.Kind {
		case "university":
			what = pick([]string{"a public university", "a private university", "a university"})
		case "lab":
			what = article(pick(fields[:]) + " research laboratory")
		default:
			what = article(pick(sectors[:]) + " company")
		}
	case Work:
		what = map[string]string{"book": "a novel", "film": "a feature film", "album": "a studio album"}[ent.Kind]
	case Event:
		what = map[string]string{"festival": "an annual festival", "conference": "an annual conference", "championship": "an annual sporting championship"}[ent.Kind]
	}
	return ent.Name + " is " + what + "."
}

// article puts "a" or "an" before a phrase of ordinary English words.
func article(s string) string {
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// ref is how later sentences of an article refer to its subject: people by
// their last name, everything else by its full name.
func (k *kb) ref(e int) string {
	if k.entities[e].Type == Person {
		return k.parts[e].b
	}
	return k.entities[e].Name
}

func fill(tmpl, s, o string) string {
	return strings.NewReplacer("{s}", s, "{o}", o).Replace(tmpl)
}

// objectText is what a fact's object reads as: a name or the literal.
func (k *kb) objectText(fi int) string {
	if o := k.objs[fi]; o >= 0 {
		return k.entities[o].Name
	}
	return k.facts[fi].Value
}

// writeCorpus writes every entity's article, split into 1–3 passages of up
// to four facts each, in a shuffled entity order (so passage ids reveal
// nothing about which entities are real), and records each fact's passage.
func writeCorpus(k *kb, r *rand.Rand) []corpus.Passage {
	var out []corpus.Passage
	for _, e := range r.Perm(len(k.entities)) {
		facts := append([]int(nil), k.out[e]...)
		r.Shuffle(len(facts), func(i, j int) { facts[i], facts[j] = facts[j], facts[i] })
		for pi, chunk := range chunkFacts(r, facts) {
			id := fmt.Sprintf("w%d-p%06d", k.seed, len(out))
			var sents []string
			if pi == 0 {
				sents = append(sents, k.intro(r, e))
			}
			for j, fi := range chunk {
				subj := k.ref(e)
				if j == 0 {
					subj = k.entities[e].Name // every passage names its subject in full
				}
				tm := factTemplates(k.facts[fi].Relation)
				sents = append(sents, fill(tm[r.IntN(len(tm))], subj, k.objectText(fi)))
				k.facts[fi].PassageID = id
			}
			if pi == 0 && len(k.lookers[e]) > 0 {
				sents = append(sents, fmt.Sprintf("%s should not be confused with %s.", k.entities[e].Name, k.entities[k.lookers[e][0]].Name))
			}
			for range 1 + r.IntN(2) {
				sents = append(sents, fill(fillers[r.IntN(len(fillers))], k.ref(e), ""))
			}
			out = append(out, corpus.Passage{ID: id, Title: k.entities[e].Name, Text: strings.Join(sents, " ")})
		}
	}
	return out
}

// chunkFacts splits an article's facts into 1–3 passages of 2–4 facts where
// there are enough facts for that; shorter articles stay whole.
func chunkFacts(r *rand.Rand, facts []int) [][]int {
	n := len(facts)
	lo := (n + 3) / 4
	hi := min(3, n/2)
	parts := lo
	if hi > lo {
		parts = lo + r.IntN(hi-lo+1)
	}
	if parts <= 1 {
		return [][]int{facts}
	}
	var out [][]int
	for i := range parts {
		a, b := i*n/parts, (i+1)*n/parts
		out = append(out, facts[a:b])
	}
	return out
}
