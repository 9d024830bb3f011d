package world

import (
	"strings"
	"testing"
)

// Every relation needs wordings for both positions, and at least one that
// ends in {x} so that it can wrap a phrase.
func TestWordings(t *testing.T) {
	t.Parallel()
	rels := []string{BornIn, BirthYear, EducatedAt, Employer, Spouse, FoundedBy, FoundedYear, HeadquarteredIn,
		CampusIn, LocatedIn, Capital, Population, WrittenBy, DirectedBy, RecordedBy, ReleaseYear,
		HeldIn, OrganisedBy, FirstHeld}
	endsInX := func(l []string) bool {
		for _, s := range l {
			if strings.HasSuffix(strings.TrimRight(s, "?."), "{x}") {
				return true
			}
		}
		return false
	}
	for _, rel := range rels {
		t.Run(rel, func(t *testing.T) {
			if n := len(factTemplates(rel)); n < 3 {
				t.Errorf("%d fact templates, want at least 3", n)
			}
			if f := questionFrames(rel); len(f) < 3 || !endsInX(f) {
				t.Errorf("question frames %q: want 3 or more, one ending in {x}", f)
			}
			if subQuery(rel, "X") == "X" {
				t.Error("no sub-query wording")
			}
			if np := nounPhrases(rel); np != nil && (len(np) < 3 || !endsInX(np)) {
				t.Errorf("noun phrases %q: want 3 or more, one ending in {x}", np)
			}
		})
	}
}
