package world

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// kb is the knowledge base under construction. Entities and facts are kept
// in creation order; out indexes each entity's facts as subject.
type kb struct {
	seed     int64
	r        *rand.Rand
	nm       *namer
	entities []Entity
	parts    []nameParts // how each name was built, for look-alikes
	facts    []Fact
	subjs    []int // facts[i]'s subject entity index
	objs     []int // facts[i]'s object entity index, or -1 for a literal
	out      [][]int
	lookers  [][]int // real entity → its look-alike distractors

	countries, cities, unis, employers, persons, works, events []int
	orgs                                                       []int // unis and employers
}

// nameParts records the pieces a look-alike borrows: a person's first (a)
// and last (b) name, or the invented word (a) of any other name.
type nameParts struct{ a, b string }

// buildKB draws cfg.Entities real entities (3% countries, 15% cities, 21%
// organisations, 18% works, 5% events, the rest people), their facts, and
// then look-alike distractors.
func buildKB(cfg Config, r *rand.Rand) *kb {
	k := &kb{seed: cfg.Seed, r: r, nm: newNamer(r)}
	n := cfg.Entities
	nCountry := max(4, n*3/100)
	nCity := max(12, n*15/100)
	nUni := max(4, n*6/100)
	nCompany := max(4, n*9/100)
	nLab := max(3, n*6/100)
	nWork := max(10, n*18/100)
	nEvent := max(4, n*5/100)
	nPerson := n - nCountry - nCity - nUni - nCompany - nLab - nWork - nEvent

	for range nCountry {
		k.countries = append(k.countries, k.newCountry())
	}
	for range nCity {
		k.cities = append(k.cities, k.newCity())
	}
	for range nUni {
		k.unis = append(k.unis, k.newOrg("university", false, ""))
	}
	for range nCompany {
		k.employers = append(k.employers, k.newOrg("company", false, ""))
	}
	for range nLab {
		k.employers = append(k.employers, k.newOrg("lab", false, ""))
	}
	for range nPerson {
		k.persons = append(k.persons, k.newPerson(nameParts{}))
	}
	for range nWork {
		k.works = append(k.works, k.newWork(workKinds[r.IntN(len(workKinds))], ""))
	}
	k.orgs = append(append([]int(nil), k.unis...), k.employers...)
	for range nEvent {
		k.events = append(k.events, k.newEvent(eventKinds[r.IntN(len(eventKinds))], ""))
	}
	k.placeFacts()
	k.personFacts()
	k.orgFacts()
	k.workFacts()
	k.eventFacts()
	k.addLookalikes()
	return k
}

func (k *kb) add(typ, kind, name string, p nameParts, aliases []string, distractor bool) int {
	i := len(k.entities)
	k.entities = append(k.entities, Entity{
		ID: fmt.Sprintf("w%d-e%05d", k.seed, i), Type: typ, Kind: kind,
		Name: name, Aliases: aliases, Distractor: distractor,
	})
	k.parts = append(k.parts, p)
	k.out = append(k.out, nil)
	k.lookers = append(k.lookers, nil)
	return i
}

func (k *kb) fact(s int, rel string, o int, val string) {
	f := Fact{Subject: k.entities[s].ID, Relation: rel, Value: val}
	if o >= 0 {
		f.Object = k.entities[o].ID
	}
	k.out[s] = append(k.out[s], len(k.facts))
	k.facts = append(k.facts, f)
	k.subjs = append(k.subjs, s)
	k.objs = append(k.objs, o)
}

// get returns e's fact of relation rel (object index or -1, and value).
func (k *kb) get(e int, rel string) (obj int, val string, ok bool) {
	for _, fi := range k.out[e] {
		if f := k.facts[fi]; f.Relation == rel {
			return k.objs[fi], f.Value, true
		}
	}
	return -1, "", false
}

func (k *kb) newCountry() int {
	name, _ := k.nm.fresh(func() string { return k.nm.word(2) + k.nm.pick(countryEndings[:]) })
	return k.add(Country, "", name, nameParts{a: name}, k.nm.aliases("Republic of "+name), false)
}

func (k *kb) newCity() int {
	name, _ := k.nm.fresh(func() string { return k.nm.word(3) })
	return k.add(City, "", name, nameParts{a: name}, nil, false)
}

// newOrg adds an organisation of kind; a look-alike reuses stem.
func (k *kb) newOrg(kind string, distractor bool, stem string) int {
	var st, name string
	ok := false
	for tries := 0; !ok && tries < 50; tries++ {
		st = stem
		if st == "" {
			st = k.nm.word(3)
		}
		switch kind {
		case "university":
			name = fmt.Sprintf(k.nm.pick(uniPatterns[:]), st)
		case "company":
			name = st + " " + k.nm.pick(companySuffixes[:])
		default:
			name = st + " " + k.nm.pick(labSuffixes[:])
		}
		ok = k.nm.claim(name)
	}
	if !ok {
		return -1
	}
	var al []string
	switch {
	case name == "University of "+st:
		al = k.nm.aliases(st + " University")
	case name == st+" University":
		al = k.nm.aliases("University of " + st)
	case name == st+" Labs":
		al = k.nm.aliases(st + " Laboratories")
	}
	return k.add(Organisation, kind, name, nameParts{a: st}, al, distractor)
}

// newPerson adds a person; a look-alike keeps one of like's names.
func (k *kb) newPerson(like nameParts) int {
	distractor := like.a != ""
	var p nameParts
	name, ok := k.nm.fresh(func() string {
		p = nameParts{a: k.nm.word(2), b: k.nm.word(2 + k.r.IntN(2))}
		if distractor {
			if k.r.IntN(3) != 0 {
				p.b = like.b
			} else {
				p.a = like.a
			}
		}
		return p.a + " " + p.b
	})
	if !ok {
		return -1
	}
	return k.add(Person, "", name, p, nil, distractor)
}

// newWork adds a work of kind; a look-alike reuses the invented word.
func (k *kb) newWork(kind, word string) int {
	var w string
	name, ok := k.nm.fresh(func() string {
		w = word
		if w == "" {
			w = k.nm.word(3)
		}
		return fmt.Sprintf(k.nm.pick(workPatterns(kind)), w, k.nm.pick(workNouns[:]))
	})
	if !ok {
		return -1
	}
	return k.add(Work, kind, name, nameParts{a: w}, nil, word != "")
}

// newEvent adds an event of kind; a look-alike reuses the invented word.
func (k *kb) newEvent(kind, word string) int {
	var w string
	name, ok := k.nm.fresh(func() string {
		w = word
		if w == "" {
			w = k.nm.word(3)
		}
		return fmt.Sprintf(k.nm.pick(eventPatterns(kind)), w)
	})
	if !ok {
		return -1
	}
	return k.add(Event, kind, name, nameParts{a: w}, nil, word != "")
}

func (k *kb) pickFrom(pool []int) int { return pool[k.r.IntN(len(pool))] }

func (k *kb) year(lo, hi int) string { return strconv.Itoa(lo + k.r.IntN(hi-lo+1)) }

// placeFacts spreads cities over countries (the first city of each country
// is its capital) and gives places populations.
func (k *kb) placeFacts() {
	order := k.r.Perm(len(k.cities))
	capitals := make([]int, len(k.countries))
	for j, ci := range order {
		c := k.cities[ci]
		country := j % len(k.countries)
		if j >= len(k.countries) {
			country = k.r.IntN(len(k.countries))
		} else {
			capitals[country] = c
		}
		k.fact(c, LocatedIn, k.countries[country], "")
		k.fact(c, Population, -1, k.population(City))
	}
	for i, co := range k.countries {
		k.fact(co, Capital, capitals[i], "")
		k.fact(co, Population, -1, k.population(Country))
	}
}

// population draws a round head count as written in prose ("231,000").
func (k *kb) population(typ string) string {
	if typ == Country {
		return commas((500 + k.r.IntN(60000)) * 1000)
	}
	return commas((15 + k.r.IntN(2400)) * 1000)
}

func commas(n int) string {
	s := strconv.Itoa(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func (k *kb) personFacts() {
	for _, p := range k.persons {
		k.fact(p, BornIn, k.pickFrom(k.cities), "")
		k.fact(p, BirthYear, -1, k.year(1900, 1995))
		k.fact(p, EducatedAt, k.pickFrom(k.unis), "")
		k.fact(p, Employer, k.pickFrom(k.employers), "")
	}
	// About 40% of people are married, to each other.
	order := k.r.Perm(len(k.persons))
	for j := 0; j+1 < len(order)*2/5; j += 2 {
		a, b := k.persons[order[j]], k.persons[order[j+1]]
		k.fact(a, Spouse, b, "")
		k.fact(b, Spouse, a, "")
	}
}

func (k *kb) orgFacts() {
	for _, u := range k.unis {
		k.fact(u, CampusIn, k.pickFrom(k.cities), "")
		k.fact(u, FoundedYear, -1, k.year(1700, 1960))
	}
	for _, o := range k.employers {
		founder := k.pickFrom(k.persons)
		k.fact(o, FoundedBy, founder, "")
		k.fact(o, HeadquarteredIn, k.pickFrom(k.cities), "")
		k.fact(o, FoundedYear, -1, k.laterYear(founder, 25, 55, 2020))
	}
}

// laterYear is a year lo..hi years after person p's birth, capped at cap.
func (k *kb) laterYear(p, lo, hi, cap int) string {
	_, born, _ := k.get(p, BirthYear)
	b, _ := strconv.Atoi(born)
	return strconv.Itoa(min(cap, b+lo+k.r.IntN(hi-lo+1)))
}

func creatorRelation(kind string) string {
	switch kind {
	case "book":
		return WrittenBy
	case "film":
		return DirectedBy
	default:
		return RecordedBy
	}
}

func (k *kb) workFacts() {
	for _, w := range k.works {
		creator := k.pickFrom(k.persons)
		k.fact(w, creatorRelation(k.entities[w].Kind), creator, "")
		k.fact(w, ReleaseYear, -1, k.laterYear(creator, 20, 60, 2024))
	}
}

func (k *kb) eventFacts() {
	for _, e := range k.events {
		org := k.pickFrom(k.orgs)
		k.fact(e, HeldIn, k.pickFrom(k.cities), "")
		k.fact(e, OrganisedBy, org, "")
		_, founded, _ := k.get(org, FoundedYear)
		y, _ := strconv.Atoi(founded)
		k.fact(e, FirstHeld, -1, strconv.Itoa(min(2022, y+1+k.r.IntN(40))))
	}
}

// addLookalikes gives about half the real people, organisations, works and
// cities a distractor that shares a name token and states the same relations
// with different values. Distractors are only ever subjects, so no question
// chain can pass through one.
func (k *kb) addLookalikes() {
	real := len(k.entities)
	for t := range real {
		e := k.entities[t]
		if e.Type == Country || k.r.IntN(2) == 0 {
			continue
		}
		d := -1
		switch e.Type {
		case Person:
			d = k.newPerson(k.parts[t])
		case Organisation:
			kinds := []string{"company", "lab", "university"}
			d = k.newOrg(kinds[k.r.IntN(len(kinds))], true, k.parts[t].a)
		case Work:
			d = k.newWork(workKinds[k.r.IntN(len(workKinds))], k.parts[t].a)
		case Event:
			d = k.newEvent(eventKinds[k.r.IntN(len(eventKinds))], k.parts[t].a)
		case City:
			name, ok := k.nm.fresh(func() string { return fmt.Sprintf(k.nm.pick(cityVariants[:]), e.Name) })
			if ok {
				d = k.add(City, "", name, nameParts{a: name}, nil, true)
			}
		}
		if d < 0 {
			continue
		}
		k.lookers[t] = append(k.lookers[t], d)
		k.distractorFacts(d, t)
	}
}

// distractorFacts gives distractor d the relations its kind has, each with a
// value other than its twin t's: close to the real entity, but not it.
func (k *kb) distractorFacts(d, t int) {
	for _, rel := range relationsOf(k.entities[d]) {
		twinObj, twinVal, _ := k.get(t, rel)
		if pool := k.pool(rel); pool != nil {
			o := k.pickFrom(pool)
			for tries := 0; o == twinObj && tries < 10; tries++ {
				o = k.pickFrom(pool)
			}
			k.fact(d, rel, o, "")
			continue
		}
		v := k.literal(rel, k.entities[d].Kind)
		for tries := 0; v == twinVal && tries < 10; tries++ {
			v = k.literal(rel, k.entities[d].Kind)
		}
		k.fact(d, rel, -1, v)
	}
}

// relationsOf lists the relations a distractor of e's type and kind states.
func relationsOf(e Entity) []string {
	switch e.Type {
	case Person:
		return []string{BornIn, BirthYear, EducatedAt, Employer}
	case Organisation:
		if e.Kind == "university" {
			return []string{CampusIn, FoundedYear}
		}
		return []string{FoundedBy, HeadquarteredIn, FoundedYear}
	case Work:
		return []string{creatorRelation(e.Kind), ReleaseYear}
	case City:
		return []string{LocatedIn, Population}
	case Event:
		return []string{HeldIn, OrganisedBy, FirstHeld}
	}
	return nil
}

// pool is where an entity-valued relation's objects come from (real
// entities only); nil for literal relations.
func (k *kb) pool(rel string) []int {
	switch rel {
	case BornIn, HeadquarteredIn, CampusIn, HeldIn:
		return k.cities
	case OrganisedBy:
		return k.orgs
	case EducatedAt:
		return k.unis
	case Employer:
		return k.employers
	case FoundedBy, WrittenBy, DirectedBy, RecordedBy, Spouse:
		return k.persons
	case LocatedIn, Capital:
		return k.countries
	}
	return nil
}

// literal draws a value for a literal relation.
func (k *kb) literal(rel, kind string) string {
	switch rel {
	case BirthYear:
		return k.year(1900, 1995)
	case FoundedYear:
		if kind == "university" {
			return k.year(1700, 1960)
		}
		return k.year(1940, 2020)
	case ReleaseYear:
		return k.year(1940, 2024)
	case FirstHeld:
		return k.year(1900, 2022)
	default:
		return k.population(City)
	}
}
