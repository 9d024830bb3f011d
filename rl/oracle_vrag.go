package rl

import (
	"context"
	"fmt"
	"image"
	"iter"
	"regexp"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/vision"
	"github.com/sleuth-research/sleuth/world"
)

// PageSource finds the page a VRAG search showed by its id, at full
// resolution with its text layer (the page the crop tool cuts from): the
// oracle reads the layout to find the box of the line that states a fact.
type PageSource func(ctx context.Context, id string) (*vision.Page, error)

// pageShown is a page search's observation as VRAG's search tool writes
// it: "Page n (id ID, image W×H px)", then the page's text.
var pageShown = regexp.MustCompile(`^Page \d+ \(id ([^,]+), image (\d+)×(\d+) px\)`)

// vragObs is one observation of a VRAG episode as the oracle reads it.
type vragObs struct {
	page  string      // the page a search showed ("" for a crop or nothing new)
	title string      // its title: the first line of its text
	shown image.Point // that page's size as shown
	crop  bool        // a crop's text
	text  string
}

// vragObservations reads the observations in a VRAG prompt, in order.
func (pr Protocol) vragObservations(prompt string) []vragObs {
	var out []vragObs
	for text := range pr.observations(prompt) {
		o := vragObs{text: text}
		if m := pageShown.FindStringSubmatch(text); m != nil {
			w, _ := strconv.Atoi(m[2])
			h, _ := strconv.Atoi(m[3])
			o.page, o.shown = m[1], image.Pt(w, h)
			o.title, _, _ = strings.Cut(strings.TrimPrefix(text[len(m[0]):], "\n"), "\n")
		} else {
			o.crop = strings.HasPrefix(text, "Crop of page")
		}
		out = append(out, o)
	}
	return out
}

// vragStep is the oracle's turn in VRAG's protocol: for each hop, search
// with the hop's query; when the page shown states the hop's fact (a
// sentence names its subject and object), zoom into the lines that state
// it with a region; when it does not (the search found another page),
// search again (the tool shows the next page not yet seen). A page may
// state the next hop's fact too (a country's page names its capital):
// then the oracle crops it again rather than search for a page it has
// seen. Once every hop's fact was read in a crop, it answers. The
// observations so far say where the episode is, so the oracle keeps no
// state between turns.
func (o *Oracle) vragStep(ctx context.Context, q world.Question, prompt string) (string, error) {
	hop, info := 0, ""
	var last vragObs // the last page shown, while it may be cropped
	for _, ob := range o.Protocol.vragObservations(prompt) {
		switch {
		case hop >= len(q.Chain):
		case ob.page != "":
			last, info = ob, ""
		case ob.crop && last.page != "" && containsWords(ob.text, q.Chain[hop].Object):
			hop, info = hop+1, ob.text
		default: // a crop that missed the fact, nothing new, an error
			last, info = vragObs{}, ""
		}
	}
	pr := o.Protocol
	if hop >= len(q.Chain) || last.page == "" || !statesFact(last.title, strings.Fields(last.text), q.Chain[hop]) {
		return pr.Step(q, hop, info), nil
	}
	h := q.Chain[hop]
	if o.Pages == nil {
		return "", fmt.Errorf("oracle: a region preset needs the pages (Oracle.Pages)")
	}
	page, err := o.Pages(ctx, last.page)
	if err != nil {
		return "", fmt.Errorf("oracle: page %s: %w", last.page, err)
	}
	box, ok := FactBox(page, last.shown, h)
	if !ok {
		return "", fmt.Errorf("oracle: page %s states the %s of %s but its text layer does not", last.page, h.Relation, h.Subject)
	}
	return fmt.Sprintf("%sThis page gives the %s of %s.%s\n%s[%d, %d, %d, %d]%s", pr.ThinkOpen(), RelationWords(h.Relation), h.Subject, pr.ThinkClose(),
		openTag(pr.tags.Region), box.Min.X, box.Min.Y, box.Max.X, box.Max.Y, closeTag(pr.tags.Region)), nil
}

// FactBox is the box, in the pixels of page as shown at size shown, of
// the first sentence of page's text layer that states hop h (statesFact): the lines it spans, from its first word's left
// to its last word's right (whole lines when it wraps). ok is false when
// no sentence states it.
func FactBox(page *vision.Page, shown image.Point, h world.Hop) (image.Rectangle, bool) {
	if page.Size() != shown && shown.X > 0 && shown.Y > 0 {
		p, err := page.Scaled(shown)
		if err != nil {
			return image.Rectangle{}, false
		}
		page = p
	}
	ws := page.Words
	// The title's words come first; their sentence is not the fact's.
	if title := strings.Fields(page.Title); len(title) <= len(ws) {
		n := 0
		for n < len(title) && ws[n].Text == title[n] {
			n++
		}
		if n == len(title) {
			ws = ws[n:]
		}
	}
	words := make([]string, len(ws))
	for i, w := range ws {
		words[i] = w.Text
	}
	for start, end := range sentences(words) {
		if statesFact(page.Title, words[start:end], h) {
			box := ws[start].Box
			for _, w := range ws[start:end] {
				box = box.Union(w.Box)
			}
			return box, true
		}
	}
	return image.Rectangle{}, false
}

// sentences yields the word ranges [start, end) of the sentences of words
// (a sentence ends with a word ending in a full stop).
func sentences(words []string) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for start := 0; start < len(words); {
			end := start + 1
			for end < len(words) && !strings.HasSuffix(words[end-1], ".") {
				end++
			}
			if !yield(start, end) {
				return
			}
			start = end
		}
	}
}

// statesFact reports whether one sentence of words, of the page titled
// title, states hop h: it names h's object, and h's subject is the page's
// title (its passages call it by part of its name: "Gaizas studied at …")
// or the sentence names it too.
func statesFact(title string, words []string, h world.Hop) bool {
	if h.Object == "" {
		return false
	}
	for start, end := range sentences(words) {
		s := strings.Join(words[start:end], " ")
		if containsWords(s, h.Object) && (title == h.Subject || containsWords(s, h.Subject)) {
			return true
		}
	}
	return false
}

// containsWords reports whether text holds s, whatever white space (line
// breaks of a page's layout) separates their words.
func containsWords(text, s string) bool {
	s = strings.Join(strings.Fields(s), " ")
	return s != "" && strings.Contains(strings.Join(strings.Fields(text), " "), s)
}
