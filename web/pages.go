package web

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"html"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/world"
)

// Shares of entity pages given each kind of noise. Poisoned pages are at
// least one per injection kind, so even a small world covers every kind.
const (
	longShare   = 0.08
	splitShare  = 0.08
	slowShare   = 0.05
	poisonShare = 0.04
	deadShare   = 0.15
)

// typePlural names the /list/<type> pages.
var typePlural = []struct{ typ, plural, label string }{
	{world.Person, "people", "People"},
	{world.City, "cities", "Cities"},
	{world.Country, "countries", "Countries"},
	{world.Organisation, "organisations", "Organisations"},
	{world.Work, "works", "Works"},
	{world.Event, "events", "Events"},
}

// entry is one entity while the site is built.
type entry struct {
	ent      world.Entity
	path     string
	slug     string
	passages []corpus.Passage
	facts    []world.Fact // facts whose subject this is, world order
	incoming []world.Fact // facts whose object this is, world order
	plan     plan
}

// plan is the noise chosen for one entity page.
type plan struct {
	layout     string
	slow       bool
	injections []string // kinds
	dead       bool
}

// builder holds the lookups used while rendering.
type builder struct {
	seed    int64
	entries []*entry
	byID    map[string]*entry
}

func (s *Site) build(w *world.World) error {
	b := &builder{seed: w.Seed, byID: map[string]*entry{}}
	taken := map[string]bool{}
	for _, e := range w.Entities {
		if _, dup := b.byID[e.ID]; dup {
			return fmt.Errorf("web: duplicate entity id %q", e.ID)
		}
		slug := uniqueSlug(slugify(e.Name), taken)
		en := &entry{ent: e, slug: slug, path: "/wiki/" + slug}
		b.entries = append(b.entries, en)
		b.byID[e.ID] = en
	}
	if err := b.attach(w); err != nil {
		return err
	}
	b.planNoise()
	s.addPage(b.homePage())
	for _, tp := range typePlural {
		s.addPage(b.listPage(tp.typ, tp.plural, tp.label))
	}
	for _, en := range b.entries {
		if en.ent.Type == world.Country {
			s.addPage(b.topicPage(en))
		}
	}
	for _, en := range b.entries {
		p := b.entityPage(en)
		s.addPage(p)
		s.byEntity[en.ent.ID] = en.path
		s.dead = append(s.dead, p.info.DeadLinks...)
	}
	s.addPage(privatePage())
	s.addRedirects(b)
	return nil
}

func (s *Site) addPage(p *page) {
	p.etag = fmt.Sprintf(`"%016x"`, hashOf(0, "etag", string(p.body)))
	s.pages[p.info.Path] = p
	s.order = append(s.order, p.info.Path)
}

// addRedirects registers alias URLs (301 to the canonical page) and short
// links /r/<slug> (302), skipping any that would shadow a page.
func (s *Site) addRedirects(b *builder) {
	for _, en := range b.entries {
		s.redirects["/r/"+en.slug] = redirect{to: en.path, code: http.StatusFound}
		for _, a := range en.ent.Aliases {
			from := "/wiki/" + slugify(a)
			if _, ok := s.pages[from]; ok || from == "/wiki/" {
				continue
			}
			if _, ok := s.redirects[from]; ok {
				continue
			}
			s.redirects[from] = redirect{to: en.path, code: http.StatusMovedPermanently}
		}
	}
}

// attach gives each entity its passages and facts. A passage belongs to
// the subject of the facts it states; a passage stating none (an article of
// an entity without facts) belongs to the entity it is titled after.
func (b *builder) attach(w *world.World) error {
	owner := map[string]*entry{}
	for _, f := range w.Facts {
		en, ok := b.byID[f.Subject]
		if !ok {
			return fmt.Errorf("web: fact %s %s: unknown subject", f.Subject, f.Relation)
		}
		en.facts = append(en.facts, f)
		if f.PassageID != "" {
			owner[f.PassageID] = en
		}
		if o, ok := b.byID[f.Object]; ok && f.Object != "" {
			o.incoming = append(o.incoming, f)
		}
	}
	byName := map[string]*entry{}
	for _, en := range b.entries {
		if _, dup := byName[en.ent.Name]; !dup {
			byName[en.ent.Name] = en
		}
	}
	for _, p := range w.Passages {
		en := owner[p.ID]
		if en == nil {
			en = byName[p.Title]
		}
		if en == nil {
			return fmt.Errorf("web: passage %s (%q): no entity states or is titled by it", p.ID, p.Title)
		}
		en.passages = append(en.passages, p)
	}
	return nil
}

// slugify lowercases name and joins its ASCII letters and digits with
// hyphens: "University of Brelmor" → "university-of-brelmor".
func slugify(name string) string {
	var sb strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(c)
			dash = false
		} else {
			dash = true
		}
	}
	if sb.Len() == 0 {
		return "page"
	}
	return sb.String()
}

func uniqueSlug(slug string, taken map[string]bool) string {
	s := slug
	for n := 2; taken[s]; n++ {
		s = slug + "-" + strconv.Itoa(n)
	}
	taken[s] = true
	return s
}

// hashOf is a stable 64-bit hash of the seed, a salt and a key: the source
// of every per-page choice, so choices do not depend on iteration order.
func hashOf(seed int64, salt, key string) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(seed))
	h.Write(buf[:])
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}

// pageRand is the random stream for one page's cosmetic choices.
func pageRand(seed int64, path string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), hashOf(seed, "page", path)))
}

// ranked orders the entries by a salted hash: taking a prefix picks a
// deterministic pseudo-random subset.
func (b *builder) ranked(salt string) []*entry {
	out := slices.Clone(b.entries)
	slices.SortFunc(out, func(x, y *entry) int {
		return cmp.Or(cmp.Compare(hashOf(b.seed, salt, x.path), hashOf(b.seed, salt, y.path)), cmp.Compare(x.path, y.path))
	})
	return out
}

func share(n int, f float64) int { return int(float64(n)*f + 0.5) }

func (b *builder) planNoise() {
	n := len(b.entries)
	for i, en := range b.ranked("layout") {
		switch {
		case i < share(n, longShare):
			en.plan.layout = LayoutLong
		case i < share(n, longShare)+share(n, splitShare) && len(en.passages) > 1:
			en.plan.layout = LayoutSplit
		default:
			en.plan.layout = LayoutPlain
		}
	}
	for i, en := range b.ranked("slow") {
		en.plan.slow = i < share(n, slowShare)
	}
	for i, en := range b.ranked("dead") {
		en.plan.dead = i < share(n, deadShare)
	}
	kinds := injectionKinds()
	poisoned := min(n, max(share(n, poisonShare), len(kinds)))
	for i, en := range b.ranked("poison")[:poisoned] {
		// Round-robin so every kind appears; past the first round pages
		// carry a second kind as well.
		en.plan.injections = []string{kinds[i%len(kinds)].name}
		if i >= len(kinds) {
			if k := kinds[(i*7+3)%len(kinds)].name; k != en.plan.injections[0] {
				en.plan.injections = append(en.plan.injections, k)
			}
		}
	}
}

// factOffset is where the first passage starts in body, or 0.
func factOffset(body []byte, passages []corpus.Passage) int {
	if len(passages) == 0 {
		return 0
	}
	return max(0, bytes.Index(body, []byte(html.EscapeString(passages[0].Text))))
}
