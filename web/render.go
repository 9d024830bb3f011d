package web

import (
	"cmp"
	"html"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/world"
)

const siteName = "Sleuthpedia"

// stylesheet is shared by every page; the hiddenClass rule is what the
// css-class injection relies on.
const stylesheet = `body{font-family:sans-serif;margin:0}main{max-width:60em;margin:auto}` +
	`.cookie{position:fixed;bottom:0;background:#222;color:#eee;padding:1em}` +
	`.ad{border:1px solid #ccc;background:#fafafa;padding:.5em;margin:1em 0}` +
	`.infobox{float:right;border:1px solid #aaa;margin:0 0 1em 1em}` +
	`.` + hiddenClass + `{display:none}`

func esc(s string) string { return html.EscapeString(s) }

// head writes everything from the doctype to the start of <main>.
func head(sb *strings.Builder, r *rand.Rand, title, canonical string) {
	sb.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	sb.WriteString("<title>" + esc(title) + " — " + siteName + "</title>\n")
	sb.WriteString(`<link rel="canonical" href="` + esc(canonical) + "\">\n")
	sb.WriteString("<style>" + stylesheet + "</style>\n")
	sb.WriteString("<script>window.dataLayer=window.dataLayer||[];function track(){dataLayer.push(arguments)}</script>\n")
	sb.WriteString("</head>\n<body>\n")
	sb.WriteString(`<div id="cookie-banner" class="cookie" role="dialog"><p>` + cookieTexts[r.IntN(len(cookieTexts))] +
		`</p><button>Accept all</button> <button>Reject non-essential</button> <a href="/private/cookie-policy">Cookie policy</a></div>` + "\n")
	sb.WriteString(`<header><nav aria-label="Main"><a href="/">` + siteName + `</a>`)
	for _, tp := range typePlural {
		sb.WriteString(` | <a href="/list/` + tp.plural + `">` + tp.label + `</a>`)
	}
	sb.WriteString(` <form action="/search" method="get"><input name="q" placeholder="Search ` + siteName +
		`"><button>Search</button></form></nav></header>` + "\n<main>\n")
}

// foot writes the end of <main> to the end of the document.
func foot(sb *strings.Builder) {
	sb.WriteString("</main>\n<footer><p>Text is available under the Creative Commons Attribution-ShareAlike License; additional terms may apply.</p>\n")
	sb.WriteString(`<p><a href="/">About ` + siteName + `</a> · <a href="/private/cookie-policy">Privacy policy</a> · <a href="/list/people">Contributors</a> · <a href="/robots.txt">Robots</a></p></footer>` + "\n")
	sb.WriteString("</body>\n</html>\n")
}

func link(path, text string) string { return `<a href="` + esc(path) + `">` + esc(text) + `</a>` }

// relationLabel names a relation in infoboxes.
func relationLabel(rel string) string {
	switch rel {
	case world.BornIn:
		return "Born in"
	case world.BirthYear:
		return "Born"
	case world.EducatedAt:
		return "Education"
	case world.Employer:
		return "Employer"
	case world.Spouse:
		return "Spouse"
	case world.FoundedBy:
		return "Founder"
	case world.FoundedYear:
		return "Founded"
	case world.HeadquarteredIn:
		return "Headquarters"
	case world.CampusIn:
		return "Campus"
	case world.LocatedIn:
		return "Country"
	case world.Capital:
		return "Capital"
	case world.Population:
		return "Population"
	case world.WrittenBy:
		return "Author"
	case world.DirectedBy:
		return "Director"
	case world.RecordedBy:
		return "Artist"
	case world.ReleaseYear:
		return "Released"
	case world.HeldIn:
		return "Location"
	case world.OrganisedBy:
		return "Organiser"
	case world.FirstHeld:
		return "First held"
	}
	return rel
}

// objectHTML renders a fact's object: a link to its page, or the literal.
func (b *builder) objectHTML(f world.Fact) string {
	if o, ok := b.byID[f.Object]; ok && f.Object != "" {
		return link(o.path, o.ent.Name)
	}
	return esc(f.Value)
}

// infobox shows up to four of the entity's facts, chosen per page.
func (b *builder) infobox(sb *strings.Builder, r *rand.Rand, en *entry) {
	if len(en.facts) == 0 {
		return
	}
	idx := r.Perm(len(en.facts))[:min(4, len(en.facts))]
	slices.Sort(idx)
	sb.WriteString(`<table class="infobox"><caption>` + esc(en.ent.Name) + "</caption>\n")
	kind := en.ent.Type
	if en.ent.Kind != "" {
		kind = en.ent.Kind
	}
	sb.WriteString("<tr><th>Type</th><td>" + esc(kind) + "</td></tr>\n")
	for _, i := range idx {
		f := en.facts[i]
		sb.WriteString("<tr><th>" + esc(relationLabel(f.Relation)) + "</th><td>" + b.objectHTML(f) + "</td></tr>\n")
	}
	sb.WriteString("</table>\n")
}

// related lists pages linked to the entity by a fact, either way, then a
// dead link on some pages. Some links go through /r/ short links.
func (b *builder) related(sb *strings.Builder, r *rand.Rand, en *entry) (dead []string) {
	var links []*entry
	seen := map[string]bool{en.ent.ID: true}
	add := func(id string) {
		if o, ok := b.byID[id]; ok && !seen[id] {
			seen[id] = true
			links = append(links, o)
		}
	}
	for _, f := range en.facts {
		add(f.Object)
	}
	for _, f := range en.incoming {
		add(f.Subject)
	}
	links = links[:min(len(links), 8)]
	sb.WriteString("<aside class=\"related\"><h2>Related articles</h2>\n<ul>\n")
	for _, o := range links {
		path := o.path
		if r.IntN(5) == 0 {
			path = "/r/" + o.slug
		}
		sb.WriteString("<li>" + link(path, o.ent.Name) + "</li>\n")
	}
	if en.plan.dead {
		// The slug of a page that was never written: it answers 404.
		d := "/wiki/" + en.slug + "-" + []string{"archive", "timeline", "early-years", "gallery"}[r.IntN(4)] + "-old"
		sb.WriteString("<li>" + link(d, en.ent.Name+" (archived)") + "</li>\n")
		dead = append(dead, d)
	}
	sb.WriteString("</ul></aside>\n")
	return dead
}

// entityPage renders the article of one entity with its planned noise.
func (b *builder) entityPage(en *entry) *page {
	r := pageRand(b.seed, en.path)
	var sb strings.Builder
	head(&sb, r, en.ent.Name, en.path)
	if r.IntN(2) == 0 {
		ad(&sb, r)
	}
	sb.WriteString("<article>\n<h1>" + esc(en.ent.Name) + "</h1>\n")
	sb.WriteString(`<p class="hatnote">From ` + siteName + ", the free encyclopedia")
	if len(en.ent.Aliases) > 0 {
		sb.WriteString(". Also known as " + esc(strings.Join(en.ent.Aliases, ", ")))
	}
	sb.WriteString(".</p>\n")
	info := PageInfo{Path: en.path, Kind: KindEntity, Title: en.ent.Name, EntityID: en.ent.ID, Layout: en.plan.layout, Slow: en.plan.slow}
	var visible []Injection
	for _, k := range injectionKinds() {
		if !slices.Contains(en.plan.injections, k.name) {
			continue
		}
		p := payloadFor(k.name, r)
		inj := Injection{Kind: k.name, Hidden: k.hidden, Text: p, HTML: k.markup(p)}
		info.Injections = append(info.Injections, inj)
		if k.hidden {
			sb.WriteString(inj.HTML + "\n") // hidden ones go near the top, where a reader starts
		} else {
			visible = append(visible, inj)
		}
	}
	b.infobox(&sb, r, en)
	b.article(&sb, r, en, visible)
	info.DeadLinks = b.related(&sb, r, en)
	if topic := b.topicOf(en); topic != "" {
		sb.WriteString("<p>See also: " + link(topic, "Places and organisations of the same country") + "</p>\n")
	}
	sb.WriteString("</article>\n")
	if r.IntN(3) == 0 {
		ad(&sb, r)
	}
	foot(&sb)
	body := []byte(sb.String())
	info.FactOffset = factOffset(body, en.passages)
	pg := &page{info: info, body: body, text: passageText(en), aliases: strings.Join(en.ent.Aliases, " ")}
	pg.analyseSentences()
	return pg
}

// article writes the passages in the planned layout, with the visible
// injections after the first passage.
func (b *builder) article(sb *strings.Builder, r *rand.Rand, en *entry, visible []Injection) {
	sb.WriteString("<h2>Overview</h2>\n")
	if en.plan.layout == LayoutLong {
		fillerSections(sb, r, en.ent.Name, 8000+r.IntN(8000))
		sb.WriteString("<h2>Details</h2>\n")
	}
	for i, p := range en.passages {
		if i == 1 && en.plan.layout == LayoutSplit {
			fillerSections(sb, r, en.ent.Name, 6000+r.IntN(6000))
			sb.WriteString("<h2>Further details</h2>\n")
		}
		sb.WriteString("<p>" + esc(p.Text) + "</p>\n")
		if i == 0 {
			for _, inj := range visible {
				sb.WriteString(inj.HTML + "\n")
			}
			if r.IntN(3) == 0 {
				ad(sb, r)
			}
		}
	}
	if len(en.passages) == 0 {
		for _, inj := range visible {
			sb.WriteString(inj.HTML + "\n")
		}
	}
	if en.plan.layout == LayoutPlain && r.IntN(4) == 0 {
		fillerSections(sb, r, en.ent.Name, 400)
	}
}

// topicOf is the topic page of the entity's country: a country's own, a
// city's, or that of the city an organisation or event is in.
func (b *builder) topicOf(en *entry) string {
	switch en.ent.Type {
	case world.Country:
		return "/topic/" + en.slug
	case world.City:
		for _, f := range en.facts {
			if f.Relation == world.LocatedIn {
				if c, ok := b.byID[f.Object]; ok {
					return "/topic/" + c.slug
				}
			}
		}
	case world.Organisation, world.Event, world.Person:
		for _, f := range en.facts {
			switch f.Relation {
			case world.HeadquarteredIn, world.CampusIn, world.HeldIn, world.BornIn:
				if c, ok := b.byID[f.Object]; ok {
					return b.topicOf(c)
				}
			}
		}
	}
	return ""
}

func passageText(en *entry) string {
	var parts []string
	for _, p := range en.passages {
		parts = append(parts, p.Text)
	}
	return strings.Join(parts, " ")
}

// topicPage lists a country's cities and what is based in, held in or
// born in them.
func (b *builder) topicPage(c *entry) *page {
	path := "/topic/" + c.slug
	r := pageRand(b.seed, path)
	title := "Places and organisations of " + c.ent.Name
	var cities []*entry
	for _, f := range c.incoming {
		if f.Relation == world.LocatedIn {
			cities = append(cities, b.byID[f.Subject])
		}
	}
	byName := func(x, y *entry) int { return cmp.Compare(x.ent.Name, y.ent.Name) }
	slices.SortFunc(cities, byName)
	groups := map[string][]*entry{}
	for _, city := range cities {
		for _, f := range city.incoming {
			switch f.Relation {
			case world.HeadquarteredIn, world.CampusIn:
				groups["org"] = append(groups["org"], b.byID[f.Subject])
			case world.HeldIn:
				groups["event"] = append(groups["event"], b.byID[f.Subject])
			case world.BornIn:
				groups["person"] = append(groups["person"], b.byID[f.Subject])
			}
		}
	}
	var sb strings.Builder
	head(&sb, r, title, path)
	ad(&sb, r)
	sb.WriteString("<h1>" + esc(title) + "</h1>\n<p>An overview of " + link(c.path, c.ent.Name) + ": its cities, the organisations based there, the events it hosts and people born there.</p>\n")
	list := func(h string, es []*entry) {
		slices.SortFunc(es, byName)
		sb.WriteString("<h2>" + h + "</h2>\n<ul>\n")
		for _, e := range es {
			sb.WriteString("<li>" + link(e.path, e.ent.Name) + "</li>\n")
		}
		sb.WriteString("</ul>\n")
	}
	list("Cities", cities)
	list("Organisations", groups["org"])
	list("Events", groups["event"])
	list("People born here", groups["person"])
	foot(&sb)
	return &page{info: PageInfo{Path: path, Kind: KindTopic, Title: title}, body: []byte(sb.String())}
}

// listPage lists every entity of one type by name.
func (b *builder) listPage(typ, plural, label string) *page {
	path := "/list/" + plural
	r := pageRand(b.seed, path)
	var es []*entry
	for _, en := range b.entries {
		if en.ent.Type == typ {
			es = append(es, en)
		}
	}
	slices.SortFunc(es, func(x, y *entry) int { return cmp.Compare(x.ent.Name, y.ent.Name) })
	var sb strings.Builder
	head(&sb, r, label, path)
	sb.WriteString("<h1>" + label + "</h1>\n<table class=\"wikitable\"><tr><th>Name</th><th>Kind</th></tr>\n")
	for _, en := range es {
		sb.WriteString("<tr><td>" + link(en.path, en.ent.Name) + "</td><td>" + esc(cmp.Or(en.ent.Kind, en.ent.Type)) + "</td></tr>\n")
	}
	sb.WriteString("</table>\n")
	ad(&sb, r)
	foot(&sb)
	return &page{info: PageInfo{Path: path, Kind: KindList, Title: label}, body: []byte(sb.String())}
}

func (b *builder) homePage() *page {
	r := pageRand(b.seed, "/")
	var sb strings.Builder
	head(&sb, r, "Main page", "/")
	sb.WriteString("<h1>Welcome to " + siteName + "</h1>\n<p>The encyclopedia of a world that does not exist.</p>\n<ul>\n")
	for _, tp := range typePlural {
		sb.WriteString("<li>" + link("/list/"+tp.plural, tp.label) + "</li>\n")
	}
	sb.WriteString("</ul>\n<h2>Countries</h2>\n<ul>\n")
	for _, en := range b.entries {
		if en.ent.Type == world.Country {
			sb.WriteString("<li>" + link("/topic/"+en.slug, en.ent.Name) + "</li>\n")
		}
	}
	sb.WriteString("</ul>\n")
	foot(&sb)
	return &page{info: PageInfo{Path: "/", Kind: KindHome, Title: "Main page"}, body: []byte(sb.String())}
}

// privatePage exists but robots.txt disallows it.
func privatePage() *page {
	const path = "/private/cookie-policy"
	var sb strings.Builder
	head(&sb, rand.New(rand.NewPCG(1, 2)), "Cookie policy", path)
	sb.WriteString("<h1>Cookie policy</h1>\n<p>This page is disallowed by robots.txt; a polite crawler never reads it.</p>\n")
	foot(&sb)
	return &page{info: PageInfo{Path: path, Kind: KindOther, Title: "Cookie policy"}, body: []byte(sb.String())}
}

// notFoundPage is the body of every 404.
func notFoundPage() []byte {
	var sb strings.Builder
	head(&sb, rand.New(rand.NewPCG(1, 3)), "Page not found", "/")
	sb.WriteString("<h1>Page not found</h1>\n<p>The page you asked for does not exist. Try the search box.</p>\n")
	foot(&sb)
	return []byte(sb.String())
}
