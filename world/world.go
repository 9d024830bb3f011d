// Package world generates sleuth's synthetic multi-hop world: a closed
// knowledge base of invented people, places, organisations and works, a
// corpus of encyclopedia-style passages that state its facts (with look-alike
// distractors), and questions of 1 to 4 hops whose every step is recorded, so
// research agents can be trained and evaluated offline, and oracle search
// traces written, without any outside data.
//
// Generation is deterministic: the same Config yields byte-identical files on
// every machine, and different seeds yield worlds that share no entity name.
package world

import (
	"fmt"
	"math/rand/v2"

	"github.com/sleuth-research/sleuth/corpus"
)

// Version is the format version written to world.json. It changes whenever
// the same Config would generate different content.
const Version = 1

// Defaults for Config's zero fields.
const (
	DefaultEntities  = 1500
	DefaultQuestions = 4000
	minEntities      = 60
)

// Config describes a world. Zero Entities and Questions take the defaults;
// every Seed, 0 included, is a valid seed.
type Config struct {
	Seed      int64
	Entities  int // real (non-distractor) entities, at least 60 (default 1500); look-alikes come on top
	Questions int // questions over all splits (default 4000)
}

func (c Config) withDefaults() Config {
	if c.Entities == 0 {
		c.Entities = DefaultEntities
	}
	if c.Questions == 0 {
		c.Questions = DefaultQuestions
	}
	return c
}

// Entity types.
const (
	Person       = "person"
	City         = "city"
	Country      = "country"
	Organisation = "organisation"
	Work         = "work"
	Event        = "event"
)

// Entity is one named thing in the knowledge base.
//
// Kind refines Type: company, lab or university for organisations; book,
// film or album for works; festival, conference or championship for events. A Distractor exists to confuse retrieval: it looks
// like a real entity (shares a name token) and has facts of the same
// relations, but no question ever names or passes through it.
type Entity struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Kind       string   `json:"kind,omitempty"`
	Name       string   `json:"name"`
	Aliases    []string `json:"aliases,omitempty"`
	Distractor bool     `json:"distractor,omitempty"`
}

// Relations. Each is functional: a subject has at most one fact of each
// relation, so following a chain of them always ends at a unique answer.
const (
	BornIn          = "born_in"          // person → city
	BirthYear       = "birth_year"       // person → year
	EducatedAt      = "educated_at"      // person → university
	Employer        = "employer"         // person → company or lab
	Spouse          = "spouse"           // person → person (both directions stated)
	FoundedBy       = "founded_by"       // company or lab → person
	FoundedYear     = "founded_year"     // organisation → year
	HeadquarteredIn = "headquartered_in" // company or lab → city
	CampusIn        = "campus_in"        // university → city
	LocatedIn       = "located_in"       // city → country
	Capital         = "capital"          // country → city
	Population      = "population"       // city or country → number
	WrittenBy       = "written_by"       // book → person
	DirectedBy      = "directed_by"      // film → person
	RecordedBy      = "recorded_by"      // album → person
	ReleaseYear     = "release_year"     // work → year
	HeldIn          = "held_in"          // event → city
	OrganisedBy     = "organised_by"     // event → organisation
	FirstHeld       = "first_held"       // event → year
)

// Fact is one edge of the knowledge base. Object holds the object entity's
// ID for entity-valued relations; Value holds the literal (a year, a
// population such as "231,000") otherwise. PassageID is the one passage that
// states the fact.
type Fact struct {
	Subject   string `json:"subject"`
	Relation  string `json:"relation"`
	Object    string `json:"object,omitempty"`
	Value     string `json:"value,omitempty"`
	PassageID string `json:"passage_id"`
}

// Question types.
const (
	Chain      = "chain"
	Comparison = "comparison"
)

// Splits.
const (
	Train = "train"
	Dev   = "dev"
	Test  = "test"
)

// Splits lists the splits in file order.
var splitNames = [...]string{Train, Dev, Test}

// Hop is one fact a solver must find. For chain questions hop i+1's subject
// is hop i's object. A comparison's Chain holds its two sides in turn, each
// one fact, or two when the question names the compared entity only through
// another ("the founder of Varnel Labs"); a side starts wherever a hop's
// subject is not the previous hop's object. Object
// is the object entity's name or the literal value; ObjectID is empty for
// literals. Query is a natural search a solver could issue for this hop
// alone, naming the subject ("founder of Varnel Labs").
type Hop struct {
	SubjectID string `json:"subject_id"`
	Subject   string `json:"subject"`
	Relation  string `json:"relation"`
	ObjectID  string `json:"object_id,omitempty"`
	Object    string `json:"object"`
	PassageID string `json:"passage_id"`
	Query     string `json:"query"`
}

// Question is one question with its answers and full derivation.
//
// Answers holds every acceptable string (the canonical one first, then
// aliases). Supporting lists the gold passage ids in hop order without
// repeats. Hops equals len(Chain).
type Question struct {
	ID         string   `json:"id"`
	Split      string   `json:"split"`
	Type       string   `json:"type"`
	Hops       int      `json:"hops"`
	Question   string   `json:"question"`
	Answers    []string `json:"answers"`
	Supporting []string `json:"supporting"`
	Chain      []Hop    `json:"chain"`
}

// World is a generated (or loaded) world. Questions are ordered by ID;
// each names its split.
type World struct {
	Seed      int64
	Version   int
	Entities  []Entity
	Facts     []Fact
	Passages  []corpus.Passage
	Questions []Question
}

// Generate builds the world described by cfg.
func Generate(cfg Config) (*World, error) {
	cfg = cfg.withDefaults()
	if cfg.Entities < minEntities {
		return nil, fmt.Errorf("world: %d entities: need at least %d", cfg.Entities, minEntities)
	}
	if cfg.Questions < 0 {
		return nil, fmt.Errorf("world: %d questions: must not be negative", cfg.Questions)
	}
	// Separate streams for the KB, the text and the questions, so a change
	// to how questions are drawn leaves the corpus as it was.
	seed := uint64(cfg.Seed)
	kb := buildKB(cfg, rand.New(rand.NewPCG(seed, 0x6b62)))
	passages := writeCorpus(kb, rand.New(rand.NewPCG(seed, 0x74657874)))
	qs, err := makeQuestions(kb, cfg.Questions, rand.New(rand.NewPCG(seed, 0x71)))
	if err != nil {
		return nil, err
	}
	return &World{
		Seed:      cfg.Seed,
		Version:   Version,
		Entities:  kb.entities,
		Facts:     kb.facts,
		Passages:  passages,
		Questions: qs,
	}, nil
}

// Split returns the questions of one split, in ID order.
func (w *World) Split(name string) []Question {
	var out []Question
	for _, q := range w.Questions {
		if q.Split == name {
			out = append(out, q)
		}
	}
	return out
}
