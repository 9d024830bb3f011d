package vision

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
)

// Source yields the page image of a retrieved passage. Implementations are
// safe for concurrent use.
type Source interface {
	Page(ctx context.Context, p corpus.Passage) (*Page, error)
}

// Dir is an image corpus: the PNG and JPEG files of one directory, each a
// page whose id is its file name without the extension. A sidecar text
// file beside an image (page.png → page.txt) is its text, which Search
// matches queries against; pages without one match by id only. A text
// layer beside it (page.words.json, as WriteDir writes) gives crops their
// exact text. Images are decoded when asked for, not when the directory
// is opened.
type Dir struct {
	root  string
	pages []dirPage
	byID  map[string]int
	index *textIndex
}

type dirPage struct {
	id, path, text string
	size           image.Point
}

// OpenDir lists dir's images and reads their sidecars. Each image's header
// is read, so a broken file is reported now, by name.
func OpenDir(dir string) (*Dir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image corpus %s: %w", dir, err)
	}
	d := &Dir{root: dir, byID: map[string]int{}}
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
			continue
		}
		id := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if _, dup := d.byID[id]; dup {
			return nil, fmt.Errorf("image corpus %s: two images have the id %q", dir, id)
		}
		path := filepath.Join(dir, e.Name())
		size, err := Size(path)
		if err != nil {
			return nil, fmt.Errorf("image corpus %s: %w", dir, err)
		}
		text, err := os.ReadFile(filepath.Join(dir, id+".txt"))
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("image corpus %s: sidecar of %s: %w", dir, e.Name(), err)
		}
		d.byID[id] = len(d.pages)
		d.pages = append(d.pages, dirPage{id: id, path: path, text: strings.TrimSpace(string(text)), size: size})
	}
	if len(d.pages) == 0 {
		return nil, fmt.Errorf("image corpus %s: no .png, .jpg or .jpeg files", dir)
	}
	docs := make([]string, len(d.pages))
	for i, p := range d.pages {
		docs[i] = p.id + " " + p.text
	}
	d.index = newTextIndex(docs)
	return d, nil
}

// Len is the number of pages.
func (d *Dir) Len() int { return len(d.pages) }

// Passages lists the pages as passages (id, file name as title, sidecar
// text), with the image's path and size in Meta.
func (d *Dir) Passages() []corpus.Passage {
	out := make([]corpus.Passage, len(d.pages))
	for i := range d.pages {
		out[i] = d.passage(i)
	}
	return out
}

func (d *Dir) passage(i int) corpus.Passage {
	p := d.pages[i]
	return corpus.Passage{ID: p.id, Title: filepath.Base(p.path), Text: p.text,
		Meta: map[string]string{"image": p.path, "width": fmt.Sprint(p.size.X), "height": fmt.Sprint(p.size.Y)}}
}

// Page decodes the image of the page with p's id.
func (d *Dir) Page(_ context.Context, p corpus.Passage) (*Page, error) {
	i, ok := d.byID[p.ID]
	if !ok {
		return nil, fmt.Errorf("image corpus %s: no page %q", d.root, p.ID)
	}
	img, err := Load(d.pages[i].path)
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Min != (image.Point{}) {
		img, err = Crop(img, b) // pages start at the origin
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", d.pages[i].path, err)
		}
	}
	words, err := readWords(d.pages[i].path, img.Bounds().Size())
	if err != nil {
		return nil, err
	}
	return &Page{ID: p.ID, Title: filepath.Base(d.pages[i].path), Image: img, Text: d.pages[i].text, Words: words}, nil
}

// Search ranks the pages for each query by BM25 over their ids and sidecar
// text; pages that match no query term are left out.
func (d *Dir) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	for qi, q := range queries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, s := range d.index.search(q, k) {
			out[qi] = append(out[qi], search.Hit{Passage: d.passage(s.doc), Score: s.score})
		}
	}
	return out, nil
}

// textIndex is a small in-memory BM25 (k1 0.9, b 0.4, lowercase letters
// and digits, no stemming) for corpora of pages that fit in memory.
type textIndex struct {
	postings map[string][]posting
	lens     []float64
	avg      float64
}

type posting struct{ doc, tf int }

type scored struct {
	doc   int
	score float64
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func newTextIndex(docs []string) *textIndex {
	ix := &textIndex{postings: map[string][]posting{}, lens: make([]float64, len(docs))}
	total := 0.0
	for d, text := range docs {
		tf := map[string]int{}
		toks := tokens(text)
		for _, t := range toks {
			tf[t]++
		}
		for t, n := range tf {
			ix.postings[t] = append(ix.postings[t], posting{doc: d, tf: n})
		}
		ix.lens[d] = float64(len(toks))
		total += float64(len(toks))
	}
	ix.avg = max(total/float64(max(len(docs), 1)), 1)
	return ix
}

func (ix *textIndex) search(q string, k int) []scored {
	const k1, b = 0.9, 0.4
	acc := map[int]float64{}
	n := float64(len(ix.lens))
	seen := map[string]bool{}
	for _, t := range tokens(q) {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := ix.postings[t]
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			tf := float64(p.tf)
			acc[p.doc] += idf * tf * (k1 + 1) / (tf + k1*(1-b+b*ix.lens[p.doc]/ix.avg))
		}
	}
	out := make([]scored, 0, len(acc))
	for d, s := range acc {
		out = append(out, scored{d, s})
	}
	slices.SortFunc(out, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return a.doc - b.doc
	})
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out
}
