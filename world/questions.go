package world

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Shares of the question budget: comparisons take 18% (a third of them
// through a bridge entity), chains of 1, 2, 3 and 4 hops the rest in the
// ratio 22:26:24:16.
const comparisonPercent = 18

func hopWeights() []int { return []int{22, 26, 24, 16} }

type qgen struct {
	k     *kb
	r     *rand.Rand
	real  int             // entities [0, real) are real; distractors follow
	seen  map[string]bool // chains and pairs already asked
	count map[string]int  // chain questions so far per final relation and per relation sequence
}

// Caps that keep chains varied: random walks drift towards places, and
// every place has a population, so without them most long questions would
// ask for one.
const (
	maxFinalShare = 0.2  // of one hop count's questions ending in one relation
	maxShapeShare = 0.06 // of one hop count's questions with one relation sequence
)

// makeQuestions draws n distinct questions and assigns ids and splits
// (80/10/10) in a shuffled order.
func makeQuestions(k *kb, n int, r *rand.Rand) ([]Question, error) {
	g := &qgen{k: k, r: r, seen: map[string]bool{}, count: map[string]int{}}
	for g.real < len(k.entities) && !k.entities[g.real].Distractor {
		g.real++
	}
	nComp := n * comparisonPercent / 100
	var qs []Question
	rest, wsum := n-nComp, 0
	weights := hopWeights()
	for _, w := range weights {
		wsum += w
	}
	for h := 1; h <= len(weights); h++ {
		want := rest * weights[h-1] / wsum
		if h == len(weights) {
			want = n - nComp - len(qs)
		}
		got := g.collect(want, func() (Question, bool) { return g.chain(h, want) })
		if len(got) < want {
			return nil, fmt.Errorf("world: only %d of %d distinct %d-hop questions exist with %d entities; use more entities or fewer questions", len(got), want, h, g.real)
		}
		qs = append(qs, got...)
	}
	got := g.collect(nComp, g.comparison)
	if len(got) < nComp {
		return nil, fmt.Errorf("world: only %d of %d distinct comparison questions exist with %d entities; use more entities or fewer questions", len(got), nComp, g.real)
	}
	qs = append(qs, got...)

	out := make([]Question, len(qs))
	for i, j := range r.Perm(len(qs)) {
		q := qs[j]
		q.ID = fmt.Sprintf("w%d-q%06d", k.seed, i)
		switch {
		case i < len(qs)*8/10:
			q.Split = Train
		case i < len(qs)*9/10:
			q.Split = Dev
		default:
			q.Split = Test
		}
		out[i] = q
	}
	return out, nil
}

// collect draws up to want questions from draw, giving up after many
// failed or repeated draws in a row (a small world runs out of distinct
// questions).
func (g *qgen) collect(want int, draw func() (Question, bool)) []Question {
	const patience = 5000
	var out []Question
	for misses := 0; len(out) < want && misses < patience; {
		if q, ok := draw(); ok {
			out = append(out, q)
			misses = 0
		} else {
			misses++
		}
	}
	return out
}

// chain walks h functional facts from a random real entity, never visiting
// an entity twice, and words the walk as one question naming only the start.
// want is how many h-hop questions are wanted, for the variety caps.
func (g *qgen) chain(h, want int) (Question, bool) {
	k := g.k
	cur := g.r.IntN(g.real)
	visited := []int{cur}
	var path []int
	for step := range h {
		var cands []int
		for _, fi := range k.out[cur] {
			o := k.objs[fi]
			if (o < 0 && step < h-1) || slices.Contains(visited, o) {
				continue
			}
			cands = append(cands, fi)
		}
		if len(cands) == 0 {
			return Question{}, false
		}
		fi := cands[g.r.IntN(len(cands))]
		path = append(path, fi)
		if o := k.objs[fi]; o >= 0 {
			visited = append(visited, o)
			cur = o
		}
	}
	shape := strconv.Itoa(h)
	for _, fi := range path {
		shape += "/" + k.facts[fi].Relation
	}
	final := strconv.Itoa(h) + "//" + k.facts[path[h-1]].Relation
	key := k.facts[path[0]].Subject + "/" + shape
	if g.seen[key] || float64(g.count[final]) >= 1+maxFinalShare*float64(want) ||
		(h > 1 && float64(g.count[shape]) >= 1+maxShapeShare*float64(want)) {
		return Question{}, false
	}
	g.seen[key] = true
	g.count[final]++
	g.count[shape]++

	q := Question{Type: Chain, Hops: h, Question: g.wordChain(path), Answers: k.answers(path[h-1])}
	for _, fi := range path {
		q.Chain = append(q.Chain, k.hop(fi))
	}
	q.Supporting = supporting(q.Chain)
	return q, true
}

// wordChain nests noun phrases for all hops but the last, then asks for the
// last with a question frame, sometimes fusing the last two hops.
func (g *qgen) wordChain(path []int) string {
	k, h := g.k, len(path)
	rel := func(i int) string { return k.facts[path[i]].Relation }
	frames, nested := questionFrames(rel(h-1)), h-1
	if h >= 2 && g.r.IntN(2) == 0 {
		if f := fusedFrames(rel(h-2), rel(h-1)); f != nil {
			frames, nested = f, h-2
		}
	}
	x := k.entities[k.subjs[path[0]]].Name
	for i := range nested {
		x = fillX(g.wording(nounPhrases(rel(i)), i > 0), x)
	}
	if nested < h-1 { // fused frames read well around any phrase
		return capitalise(fillX(g.pick(frames), x))
	}
	return capitalise(fillX(g.wording(frames, nested > 0), x))
}

// wording picks one of tmpls; around a phrase (rather than a name) it
// picks only among those that end in {x}.
func (g *qgen) wording(tmpls []string, phrase bool) string {
	if !phrase {
		return g.pick(tmpls)
	}
	var ok []string
	for _, t := range tmpls {
		if strings.HasSuffix(strings.TrimRight(t, "?."), "{x}") {
			ok = append(ok, t)
		}
	}
	return g.pick(ok)
}

func (g *qgen) pick(l []string) string { return l[g.r.IntN(len(l))] }

// factOf returns the index of e's fact of relation rel, or -1.
func (k *kb) factOf(e int, rel string) int {
	for _, fi := range k.out[e] {
		if k.facts[fi].Relation == rel {
			return fi
		}
	}
	return -1
}

func (k *kb) hop(fi int) Hop {
	f := k.facts[fi]
	subj := k.entities[k.subjs[fi]].Name
	return Hop{SubjectID: f.Subject, Subject: subj, Relation: f.Relation, ObjectID: f.Object,
		Object: k.objectText(fi), PassageID: f.PassageID, Query: subQuery(f.Relation, subj)}
}

// answers lists the acceptable answers to "what is fact fi's object".
func (k *kb) answers(fi int) []string {
	if o := k.objs[fi]; o >= 0 {
		return k.nameAnswers(o)
	}
	v := k.facts[fi].Value
	if plain := strings.ReplaceAll(v, ",", ""); plain != v {
		return []string{v, plain}
	}
	return []string{v}
}

func (k *kb) nameAnswers(e int) []string {
	return append([]string{k.entities[e].Name}, k.entities[e].Aliases...)
}

func yesNoAnswer(yes bool) []string {
	if yes {
		return []string{"yes"}
	}
	return []string{"no"}
}

func supporting(chain []Hop) []string {
	var out []string
	for _, h := range chain {
		if !slices.Contains(out, h.PassageID) {
			out = append(out, h.PassageID)
		}
	}
	return out
}

func number(s string) int {
	n, _ := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	return n
}

func fillX(tmpl, x string) string { return strings.ReplaceAll(tmpl, "{x}", x) }

func fillAB(tmpl, a, b string) string {
	return strings.NewReplacer("{a}", a, "{b}", b).Replace(tmpl)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
