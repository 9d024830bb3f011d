package world

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
)

// index looks a world up the way a consumer of its files would, so these
// checks hold for what is written, not only for generator internals.
type index struct {
	ents     map[string]Entity
	names    map[string]int    // name or alias → how many entities use it
	facts    map[string][]Fact // subject/relation → facts
	passages map[string]corpus.Passage
}

func newIndex(w *World) index {
	ix := index{ents: map[string]Entity{}, names: map[string]int{}, facts: map[string][]Fact{}, passages: map[string]corpus.Passage{}}
	for _, e := range w.Entities {
		ix.ents[e.ID] = e
		ix.names[e.Name]++
		for _, a := range e.Aliases {
			ix.names[a]++
		}
	}
	for _, f := range w.Facts {
		k := f.Subject + "/" + f.Relation
		ix.facts[k] = append(ix.facts[k], f)
	}
	for _, p := range w.Passages {
		ix.passages[p.ID] = p
	}
	return ix
}

func TestKnowledgeBase(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, small)
	ix := newIndex(w)
	for name, n := range ix.names {
		if n != 1 {
			t.Errorf("name %q used by %d entities", name, n)
		}
	}
	if len(ix.passages) != len(w.Passages) {
		t.Errorf("%d passages but %d distinct ids", len(w.Passages), len(ix.passages))
	}
	for key, fs := range ix.facts {
		if len(fs) != 1 {
			t.Errorf("%s has %d facts; every relation must be functional", key, len(fs))
		}
		f := fs[0]
		obj := f.Value
		if f.Object != "" {
			obj = ix.ents[f.Object].Name
			if ix.ents[f.Object].Distractor {
				t.Errorf("fact %s points at distractor %s", key, f.Object)
			}
		}
		p, ok := ix.passages[f.PassageID]
		if !ok || p.Title != ix.ents[f.Subject].Name || !strings.Contains(p.Text, obj) {
			t.Errorf("fact %s = %q: passage %q (%q) does not state it", key, obj, f.PassageID, p.Text)
		}
	}
}

func TestQuestions(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, small)
	ix := newIndex(w)
	texts := map[string]string{}
	for _, q := range w.Questions {
		if prev, ok := texts[q.Question]; ok {
			t.Errorf("%s and %s both ask %q", prev, q.ID, q.Question)
		}
		texts[q.Question] = q.ID
		if q.Hops != len(q.Chain) || q.Hops < 1 || q.Hops > 4 || len(q.Answers) == 0 {
			t.Fatalf("%s: malformed: %+v", q.ID, q)
		}
		var sup []string
		for _, h := range q.Chain {
			checkHop(t, ix, q, h)
			if !slices.Contains(sup, h.PassageID) {
				sup = append(sup, h.PassageID)
			}
		}
		if !slices.Equal(sup, q.Supporting) {
			t.Errorf("%s: supporting %v, chain's passages %v", q.ID, q.Supporting, sup)
		}
		switch q.Type {
		case Chain:
			checkChain(t, ix, q)
		case Comparison:
			checkComparison(t, q)
		default:
			t.Errorf("%s: type %q", q.ID, q.Type)
		}
	}
}

// checkHop verifies a hop against the knowledge base and its gold passage.
func checkHop(t *testing.T, ix index, q Question, h Hop) {
	t.Helper()
	fs := ix.facts[h.SubjectID+"/"+h.Relation]
	if len(fs) != 1 || fs[0].Object != h.ObjectID || fs[0].PassageID != h.PassageID {
		t.Errorf("%s: hop %+v does not match the KB fact %+v", q.ID, h, fs)
		return
	}
	if ix.ents[h.SubjectID].Name != h.Subject || ix.ents[h.SubjectID].Distractor {
		t.Errorf("%s: hop subject %q is not real entity %s", q.ID, h.Subject, h.SubjectID)
	}
	p := ix.passages[h.PassageID]
	if !strings.Contains(p.Text, h.Object) || !strings.Contains(p.Text, h.Subject) {
		t.Errorf("%s: gold passage %s lacks %q or %q: %s", q.ID, h.PassageID, h.Subject, h.Object, p.Text)
	}
	if !strings.Contains(h.Query, h.Subject) {
		t.Errorf("%s: sub-query %q does not name %q", q.ID, h.Query, h.Subject)
	}
}

// checkChain re-derives the answer by following the relations from the
// named entity, and checks that only that entity is named.
func checkChain(t *testing.T, ix index, q Question) {
	t.Helper()
	cur := q.Chain[0].SubjectID
	var answer string
	for i, h := range q.Chain {
		if h.SubjectID != cur {
			t.Errorf("%s: hop %d starts at %s, previous hop ended at %s", q.ID, i, h.SubjectID, cur)
		}
		f := ix.facts[cur+"/"+h.Relation][0]
		cur, answer = f.Object, f.Value
		if f.Object != "" {
			answer = ix.ents[f.Object].Name
		}
		if i > 0 && strings.Contains(q.Question, h.Subject) {
			t.Errorf("%s: %q names hop %d's subject %q", q.ID, q.Question, i, h.Subject)
		}
	}
	if !strings.Contains(q.Question, q.Chain[0].Subject) {
		t.Errorf("%s: %q does not name %q", q.ID, q.Question, q.Chain[0].Subject)
	}
	if q.Answers[0] != answer {
		t.Errorf("%s: answers %q, chain gives %q", q.ID, q.Answers, answer)
	}
	for _, a := range q.Answers {
		if n := ix.names[a]; q.Chain[len(q.Chain)-1].ObjectID != "" && n != 1 {
			t.Errorf("%s: answer %q names %d entities", q.ID, a, n)
		}
	}
}

// sides splits a comparison's hops into its two chains: a new side starts
// where a hop does not continue from the previous one.
func sides(q Question) [][]Hop {
	var out [][]Hop
	for i, h := range q.Chain {
		if i == 0 || h.SubjectID != q.Chain[i-1].ObjectID {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], h)
	}
	return out
}

// checkComparison recomputes a comparison's answer from its facts: each
// side is one fact, or two through a bridge entity the question does not
// name.
func checkComparison(t *testing.T, q Question) {
	t.Helper()
	sd := sides(q)
	if len(sd) != 2 || len(sd[0]) > 2 || len(sd[1]) > 2 {
		t.Fatalf("%s: comparison chain %+v", q.ID, q.Chain)
	}
	a, b := sd[0][len(sd[0])-1], sd[1][len(sd[1])-1]
	if a.Relation != b.Relation {
		t.Fatalf("%s: compares %s with %s", q.ID, a.Relation, b.Relation)
	}
	num := func(s string) int { n, _ := strconv.Atoi(strings.ReplaceAll(s, ",", "")); return n }
	yesNo := map[bool]string{true: "yes", false: "no"}
	var want string
	switch {
	case a.Relation == LocatedIn:
		want = yesNo[a.ObjectID == b.ObjectID]
	case q.Answers[0] == "yes" || q.Answers[0] == "no":
		aWins := num(a.Object) < num(b.Object)
		if a.Relation == Population {
			aWins = num(a.Object) > num(b.Object)
		}
		want = yesNo[aWins]
	default:
		first, second := a, b
		if num(b.Object) < num(a.Object) {
			first, second = b, a
		}
		if a.Relation == Population {
			first = second
		}
		want = first.Subject
	}
	if q.Answers[0] != want {
		t.Errorf("%s: %q answered %q, facts give %q (%+v)", q.ID, q.Question, q.Answers[0], want, q.Chain)
	}
	for _, s := range sd {
		if !strings.Contains(q.Question, s[0].Subject) {
			t.Errorf("%s: %q does not name %q", q.ID, q.Question, s[0].Subject)
		}
		if len(s) == 2 && strings.Contains(q.Question, s[1].Subject) {
			t.Errorf("%s: %q names bridge entity %q", q.ID, q.Question, s[1].Subject)
		}
	}
}
