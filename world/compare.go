package world

import (
	"fmt"
	"slices"
)

// comparison draws one comparison question: which of two entities has the
// smaller (or larger) value, as an entity answer or yes/no, or whether two
// cities lie in the same country.
func (g *qgen) comparison() (Question, bool) {
	if g.r.IntN(3) == 0 {
		return g.bridgeComparison()
	}
	kinds := comparisons()
	c := g.r.IntN(len(kinds) + 1)
	if c == len(kinds) {
		return g.sameCountry()
	}
	kind := kinds[c]
	a, b := g.pair(kind.typ, func(int) bool { return true })
	if a < 0 {
		return Question{}, false
	}
	fa, fb := g.k.factOf(a, kind.rel), g.k.factOf(b, kind.rel)
	if fa < 0 || fb < 0 {
		return Question{}, false
	}
	va, vb := number(g.k.facts[fa].Value), number(g.k.facts[fb].Value)
	yesNo := g.r.IntN(2) == 0
	key := fmt.Sprintf("cmp/%s/%d/%d/%v", kind.rel, a, b, yesNo)
	if va == vb || g.seen[key] {
		return Question{}, false
	}
	g.seen[key] = true
	aWins := (va < vb) == kind.smallest
	q := Question{Type: Comparison, Hops: 2}
	if yesNo {
		q.Question = fillAB(g.pick(kind.yesNo), g.k.entities[a].Name, g.k.entities[b].Name)
		q.Answers = yesNoAnswer(aWins)
	} else {
		q.Question = fillAB(g.pick(kind.entity), g.k.entities[a].Name, g.k.entities[b].Name)
		q.Answers = g.k.nameAnswers(a)
		if !aWins {
			q.Answers = g.k.nameAnswers(b)
		}
	}
	q.Chain = []Hop{g.k.hop(fa), g.k.hop(fb)}
	q.Supporting = supporting(q.Chain)
	return q, true
}

// sameCountry asks whether two cities share a country; half the time the
// second city is drawn from the first's country, so yes and no are balanced.
func (g *qgen) sameCountry() (Question, bool) {
	k := g.k
	same := g.r.IntN(2) == 0
	a := k.cities[g.r.IntN(len(k.cities))]
	ca, _, _ := k.get(a, LocatedIn)
	_, b := g.pair(City, func(c int) bool {
		cc, _, _ := k.get(c, LocatedIn)
		return c != a && (cc == ca) == same
	})
	key := fmt.Sprintf("same/%d/%d", min(a, b), max(a, b))
	if b < 0 || g.seen[key] {
		return Question{}, false
	}
	fa, fb := k.factOf(a, LocatedIn), k.factOf(b, LocatedIn)
	if fa < 0 || fb < 0 {
		return Question{}, false
	}
	g.seen[key] = true
	cb, _, _ := k.get(b, LocatedIn)
	q := Question{Type: Comparison, Hops: 2,
		Question: fillAB(g.pick(sameCountryFrames[:]), k.entities[a].Name, k.entities[b].Name),
		Answers:  yesNoAnswer(ca == cb),
		Chain:    []Hop{k.hop(fa), k.hop(fb)},
	}
	q.Supporting = supporting(q.Chain)
	return q, true
}

// pair draws two distinct real entities of typ, the second satisfying ok;
// it returns -1s when none was found in a few tries.
func (g *qgen) pair(typ string, ok func(int) bool) (int, int) {
	var pool []int
	switch typ {
	case Person:
		pool = g.k.persons
	case Organisation:
		pool = g.k.orgs
	case Work:
		pool = g.k.works
	case Event:
		pool = g.k.events
	default:
		pool = g.k.cities
	}
	a := pool[g.r.IntN(len(pool))]
	for range 20 {
		if b := pool[g.r.IntN(len(pool))]; b != a && ok(b) {
			return a, b
		}
	}
	return -1, -1
}

// bridgesTo lists the relations that lead to an entity of typ, so that a
// comparison can name it through another entity ("the founder of …").
func bridgesTo(typ string) []string {
	switch typ {
	case Person:
		return []string{FoundedBy, WrittenBy, DirectedBy, RecordedBy, Spouse}
	case Organisation:
		return []string{Employer, EducatedAt, OrganisedBy}
	case City:
		return []string{BornIn, HeadquarteredIn, CampusIn, Capital, HeldIn}
	}
	return nil
}

// side is one half of a comparison: the facts leading to the compared value
// (one, or two through a bridge), and how the question names the entity.
type side struct {
	path   []int
	phrase string
	target int
}

// bridgeComparison compares two entities at least one of which the question
// names only through another ("Was the founder of Varnel Labs born before
// Tomar Kelvash?"), as in 2WikiMultihopQA's bridge-comparison questions.
func (g *qgen) bridgeComparison() (Question, bool) {
	var kinds []comparison
	for _, c := range comparisons() {
		if bridgesTo(c.typ) != nil {
			kinds = append(kinds, c)
		}
	}
	kind := kinds[g.r.IntN(len(kinds))]
	bridged := g.r.IntN(3) // 0: first side, 1: second, 2: both
	a, okA := g.side(kind, bridged != 1)
	b, okB := g.side(kind, bridged != 0)
	if !okA || !okB || a.target == b.target {
		return Question{}, false
	}
	va, vb := number(g.k.facts[a.path[len(a.path)-1]].Value), number(g.k.facts[b.path[len(b.path)-1]].Value)
	yesNo := g.r.IntN(2) == 0
	key := fmt.Sprintf("bcmp/%v/%v/%v", a.path, b.path, yesNo)
	if va == vb || g.seen[key] {
		return Question{}, false
	}
	g.seen[key] = true
	aWins := (va < vb) == kind.smallest
	q := Question{Type: Comparison, Hops: len(a.path) + len(b.path)}
	if yesNo {
		q.Question = capitalise(fillAB(g.pick(kind.yesNo), a.phrase, b.phrase))
		q.Answers = yesNoAnswer(aWins)
	} else {
		q.Question = capitalise(fillAB(g.pick(kind.entity), a.phrase, b.phrase))
		q.Answers = g.k.nameAnswers(a.target)
		if !aWins {
			q.Answers = g.k.nameAnswers(b.target)
		}
	}
	for _, fi := range append(append([]int(nil), a.path...), b.path...) {
		q.Chain = append(q.Chain, g.k.hop(fi))
	}
	q.Supporting = supporting(q.Chain)
	return q, true
}

// side draws one side of a comparison of kind, through a bridge or not.
func (g *qgen) side(kind comparison, bridge bool) (side, bool) {
	k := g.k
	if !bridge {
		e, _ := g.pair(kind.typ, func(int) bool { return true })
		if e < 0 {
			return side{}, false
		}
		return side{path: []int{k.factOf(e, kind.rel)}, phrase: k.entities[e].Name, target: e}, k.factOf(e, kind.rel) >= 0
	}
	rels := bridgesTo(kind.typ)
	for range 20 {
		s := g.r.IntN(g.real)
		for _, fi := range k.out[s] {
			t := k.objs[fi]
			if t < 0 || !slices.Contains(rels, k.facts[fi].Relation) || k.entities[t].Type != kind.typ {
				continue
			}
			last := k.factOf(t, kind.rel)
			if last < 0 {
				continue
			}
			np := fillX(g.pick(nounPhrases(k.facts[fi].Relation)), k.entities[s].Name)
			return side{path: []int{fi, last}, phrase: np, target: t}, true
		}
	}
	return side{}, false
}
