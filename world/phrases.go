package world

import "slices"

// Question wording. {x} is a noun phrase: a name, or a phrase built from
// earlier hops ("the founder of Varnel Labs"). Entity names are the only
// names a question ever contains, and only the first hop's subject is named.
// Once {x} is itself a phrase, only wordings that end in {x} are used
// ("the capital of the country containing …"), because phrases nested in
// the middle of others ("the country the city … is in") become unreadable.

// nounPhrases turn {x} into the object of rel ("the founder of {x}"); only
// entity-valued relations have them, since only they continue a chain.
func nounPhrases(rel string) []string {
	switch rel {
	case BornIn:
		return []string{"the birthplace of {x}", "the city where {x} was born", "the hometown of {x}"}
	case EducatedAt:
		return []string{"the university {x} attended", "the alma mater of {x}", "the university attended by {x}"}
	case Employer:
		return []string{"the employer of {x}", "the organisation {x} works for", "the organisation that employs {x}"}
	case Spouse:
		return []string{"the spouse of {x}", "the person married to {x}", "the partner of {x}"}
	case FoundedBy:
		return []string{"the founder of {x}", "the person who founded {x}", "the person who established {x}"}
	case HeadquarteredIn:
		return []string{"the city where {x} is headquartered", "the headquarters city of {x}", "the city that hosts the headquarters of {x}"}
	case CampusIn:
		return []string{"the city where {x} is located", "the home city of {x}", "the city hosting the campus of {x}"}
	case LocatedIn:
		return []string{"the country where {x} lies", "the country containing {x}", "the country of {x}"}
	case Capital:
		return []string{"the capital of {x}", "the capital city of {x}", "the seat of government of {x}"}
	case WrittenBy:
		return []string{"the author of {x}", "the writer of {x}", "the person who wrote {x}"}
	case DirectedBy:
		return []string{"the director of {x}", "the filmmaker behind {x}", "the person who directed {x}"}
	case RecordedBy:
		return []string{"the artist behind {x}", "the musician who recorded {x}", "the performer of {x}"}
	case HeldIn:
		return []string{"the city where {x} is held", "the host city of {x}", "the city that hosts {x}"}
	case OrganisedBy:
		return []string{"the organiser of {x}", "the organisation that runs {x}", "the organisation behind {x}"}
	}
	return nil
}

// QuestionFrames are the wordings of a one-hop question asking for the
// object of rel, with {x} standing for the subject's name (nil for an
// unknown relation). Training drills use them to quiz a model on a
// passage's facts.
func QuestionFrames(rel string) []string { return slices.Clone(questionFrames(rel)) }

// questionFrames ask for the object of rel, the last hop of a chain.
func questionFrames(rel string) []string {
	switch rel {
	case BornIn:
		return []string{"Where was {x} born?", "In which city was {x} born?", "What is the birthplace of {x}?"}
	case BirthYear:
		return []string{"In what year was {x} born?", "When was {x} born?", "What is the birth year of {x}?"}
	case EducatedAt:
		return []string{"Where did {x} study?", "Which university did {x} attend?", "What is the alma mater of {x}?"}
	case Employer:
		return []string{"Who employs {x}?", "Which organisation does {x} work for?", "Who is the employer of {x}?"}
	case Spouse:
		return []string{"Who is {x} married to?", "Who is the spouse of {x}?", "Whom did {x} marry?"}
	case FoundedBy:
		return []string{"Who founded {x}?", "Who is the founder of {x}?", "Who established {x}?"}
	case FoundedYear:
		return []string{"When was {x} founded?", "In which year was {x} established?", "What is the founding year of {x}?"}
	case HeadquarteredIn:
		return []string{"Where is {x} headquartered?", "In which city is {x} headquartered?", "Which city hosts the headquarters of {x}?"}
	case CampusIn:
		return []string{"Where is {x} located?", "In which city is {x} located?", "Which city is home to {x}?"}
	case LocatedIn:
		return []string{"In which country is {x}?", "{x} lies in which country?", "Which country contains {x}?"}
	case Capital:
		return []string{"What is the capital of {x}?", "Which city is the capital of {x}?", "Name the capital of {x}."}
	case Population:
		return []string{"What is the population of {x}?", "How many people live in {x}?", "How many inhabitants does {x} have?"}
	case WrittenBy:
		return []string{"Who wrote {x}?", "Who is the author of {x}?", "Who was {x} written by?"}
	case DirectedBy:
		return []string{"Who directed {x}?", "Who is the director of {x}?", "Which filmmaker directed {x}?"}
	case RecordedBy:
		return []string{"Who recorded {x}?", "Which artist recorded {x}?", "Who is the artist behind {x}?"}
	case ReleaseYear:
		return []string{"When was {x} released?", "In what year did {x} come out?", "What is the release year of {x}?"}
	case HeldIn:
		return []string{"Where is {x} held?", "In which city does {x} take place?", "Which city hosts {x}?"}
	case OrganisedBy:
		return []string{"Who organises {x}?", "Which organisation runs {x}?", "Who is the organiser of {x}?"}
	case FirstHeld:
		return []string{"When was {x} first held?", "In what year did {x} begin?", "In which year was the first edition of {x}?"}
	}
	return nil
}

// fusedFrames ask for the last two hops at once, as people do ("In which
// country was {x} born?" is born_in then located_in).
func fusedFrames(rel1, rel2 string) []string {
	if rel2 != LocatedIn {
		return nil
	}
	switch rel1 {
	case BornIn:
		return []string{"In which country was {x} born?", "What country was {x} born in?"}
	case HeadquarteredIn:
		return []string{"In which country is {x} headquartered?", "Which country is {x} based in?"}
	case CampusIn:
		return []string{"In which country is {x} located?", "Which country is home to {x}?"}
	case HeldIn:
		return []string{"In which country is {x} held?", "In which country does {x} take place?"}
	}
	return nil
}

// subQuery is the search a solver would issue for one hop, naming its
// subject.
func subQuery(rel, subject string) string {
	var t string
	switch rel {
	case BornIn:
		t = "birthplace of {x}"
	case BirthYear:
		t = "birth year of {x}"
	case EducatedAt:
		t = "university {x} attended"
	case Employer:
		t = "employer of {x}"
	case Spouse:
		t = "spouse of {x}"
	case FoundedBy:
		t = "founder of {x}"
	case FoundedYear:
		t = "year {x} was founded"
	case HeadquarteredIn:
		t = "headquarters of {x}"
	case CampusIn:
		t = "location of {x}"
	case LocatedIn:
		t = "country of {x}"
	case Capital:
		t = "capital of {x}"
	case Population:
		t = "population of {x}"
	case WrittenBy:
		t = "author of {x}"
	case DirectedBy:
		t = "director of {x}"
	case RecordedBy:
		t = "artist who recorded {x}"
	case ReleaseYear:
		t = "release year of {x}"
	case HeldIn:
		t = "host city of {x}"
	case OrganisedBy:
		t = "organiser of {x}"
	case FirstHeld:
		t = "first edition of {x}"
	}
	return fillX(t, subject)
}

// comparison describes one kind of comparison question.
type comparison struct {
	rel      string
	typ      string // entity type compared
	entity   []string
	yesNo    []string
	smallest bool // the answer is the entity with the smaller value
}

// comparisons lists the comparison kinds; {a} and {b} are the two names.
// Same-country questions are handled apart: they compare objects, not
// magnitudes.
func comparisons() []comparison {
	return []comparison{
		{BirthYear, Person, []string{"Who was born first, {a} or {b}?", "Who is older, {a} or {b}?", "Who was born earlier: {a} or {b}?"},
			[]string{"Was {a} born before {b}?", "Is {a} older than {b}?"}, true},
		{FoundedYear, Organisation, []string{"Which was founded earlier, {a} or {b}?", "Which organisation is older, {a} or {b}?", "Which was established first: {a} or {b}?"},
			[]string{"Was {a} founded before {b}?", "Is {a} older than {b}?"}, true},
		{ReleaseYear, Work, []string{"Which came out first, {a} or {b}?", "Which was released earlier, {a} or {b}?", "Which is older: {a} or {b}?"},
			[]string{"Was {a} released before {b}?", "Did {a} come out before {b}?"}, true},
		{FirstHeld, Event, []string{"Which began earlier, {a} or {b}?", "Which was first held earlier, {a} or {b}?", "Which is older: {a} or {b}?"},
			[]string{"Was {a} first held before {b}?", "Did {a} begin before {b}?"}, true},
		{Population, City, []string{"Which city has the larger population, {a} or {b}?", "Which is more populous, {a} or {b}?", "Which has more inhabitants: {a} or {b}?"},
			[]string{"Does {a} have more inhabitants than {b}?", "Is {a} more populous than {b}?"}, false},
	}
}

var sameCountryFrames = [...]string{"Are {a} and {b} in the same country?", "Are {a} and {b} located in the same country?", "Do {a} and {b} lie in the same country?"}
