package world

import (
	"fmt"
	"slices"
)

// comparison draws one comparison question: which of two entities has the
// smaller (or larger) value, as an entity answer or yes/no, or whether two
// cities lie in the same country. A third of the magnitude comparisons name
// one or both entities only through another ("Was the founder of Varnel Labs
// born before Tomar Kelvash?"), as 2WikiMultihopQA's bridge comparisons do.
func (g *qgen) comparison() (Question, bool) {
	kinds := comparisons()
	c := g.r.IntN(len(kinds) + 1)
	if c == len(kinds) {
		return g.sameCountry()
	}
	kind := kinds[c]
	bridgeA, bridgeB := false, false
	if bridgesTo(kind.typ) != nil && g.r.IntN(3) == 0 {
		switch g.r.IntN(3) {
		case 0:
			bridgeA = true
		case 1:
			bridgeB = true
		default:
			bridgeA, bridgeB = true, true
		}
	}
	return g.compare(kind, bridgeA, bridgeB)
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

// compare asks which of two sides' entities wins kind's comparison.
func (g *qgen) compare(kind comparison, bridgeA, bridgeB bool) (Question, bool) {
	a, okA := g.side(kind, bridgeA)
	b, okB := g.side(kind, bridgeB)
	if !okA || !okB || a.target == b.target {
		return Question{}, false
	}
	va, vb := number(g.k.facts[a.path[len(a.path)-1]].Value), number(g.k.facts[b.path[len(b.path)-1]].Value)
	yesNo := g.r.IntN(2) == 0
	key := fmt.Sprintf("cmp/%v/%v/%v", a.path, b.path, yesNo)
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
	for _, fi := range slices.Concat(a.path, b.path) {
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
		if e < 0 || k.factOf(e, kind.rel) < 0 {
			return side{}, false
		}
		return side{path: []int{k.factOf(e, kind.rel)}, phrase: k.entities[e].Name, target: e}, true
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
