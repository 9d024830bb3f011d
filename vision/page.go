package vision

import (
	"fmt"
	"image"
	"math"
	"strings"
)

// Word is one word of a page's text layer and the pixels it occupies.
type Word struct {
	Text string          `json:"text"`
	Box  image.Rectangle `json:"box"`
}

// Page is a page image and what is known of its text. Pages are values
// to share: methods return new pages and never modify the receiver.
type Page struct {
	ID    string
	Title string
	Image image.Image // origin at (0, 0)
	// Text is the page's whole text: from its rendering, or a sidecar
	// file of a scanned page ("" when unknown).
	Text string
	// Words is the text layer in Image's pixels, in reading order; nil
	// when the page has none (a scanned image), and then TextIn is "".
	Words []Word
}

// MaxZoom bounds how far Zoom enlarges a crop: beyond 4× a crop only shows
// bigger pixels.
const MaxZoom = 4

// Size is the page image's width and height.
func (p *Page) Size() image.Point { return p.Image.Bounds().Size() }

// TextIn returns the words whose centre lies in r, in reading order, with a
// newline where a word sits lower than the one before it: what an OCR layer
// would read in that region.
func (p *Page) TextIn(r image.Rectangle) string {
	var b strings.Builder
	lastY := math.MinInt
	for _, w := range p.Words {
		c := image.Pt((w.Box.Min.X+w.Box.Max.X)/2, (w.Box.Min.Y+w.Box.Max.Y)/2)
		if !c.In(r) {
			continue
		}
		if b.Len() > 0 {
			if w.Box.Min.Y > lastY {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		lastY = w.Box.Min.Y
		b.WriteString(w.Text)
	}
	return b.String()
}

// Crop returns the part of the page inside r (clipped to the page), with
// the words whose centre lies inside, moved to the crop's coordinates.
func (p *Page) Crop(r image.Rectangle) (*Page, error) {
	r = r.Intersect(image.Rectangle{Max: p.Size()})
	img, err := Crop(p.Image, r)
	if err != nil {
		return nil, fmt.Errorf("page %s: crop %v: %w", p.ID, r, err)
	}
	out := &Page{ID: p.ID, Title: p.Title, Image: img}
	if p.Words != nil {
		out.Words = []Word{} // a layer with no words here, not a page without a layer
	}
	for _, w := range p.Words {
		c := image.Pt((w.Box.Min.X+w.Box.Max.X)/2, (w.Box.Min.Y+w.Box.Max.Y)/2)
		if c.In(r) {
			out.Words = append(out.Words, Word{Text: w.Text, Box: w.Box.Sub(r.Min).Intersect(image.Rectangle{Max: r.Size()})})
		}
	}
	out.Text = out.TextIn(image.Rectangle{Max: r.Size()})
	return out, nil
}

// Scaled returns the page resized to size, its words scaled with it.
func (p *Page) Scaled(size image.Point) (*Page, error) {
	from := p.Size()
	if size == from {
		return p, nil
	}
	img, err := Resize(p.Image, size.X, size.Y)
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", p.ID, err)
	}
	out := &Page{ID: p.ID, Title: p.Title, Image: img, Text: p.Text}
	if p.Words != nil {
		out.Words = make([]Word, len(p.Words))
		for i, w := range p.Words {
			out.Words[i] = Word{Text: w.Text, Box: ScaleRect(w.Box, from, size)}
		}
	}
	return out, nil
}

// Fit returns the page scaled down so that its longer side is at most
// side; smaller pages are returned as they are.
func (p *Page) Fit(side int) (*Page, error) {
	s := p.Size()
	if side <= 0 || max(s.X, s.Y) <= side {
		return p, nil
	}
	return p.Scaled(FitSize(s.X, s.Y, side))
}

// Zoom crops r and scales the crop so that its longer side is side,
// enlarging small crops by at most MaxZoom.
func (p *Page) Zoom(r image.Rectangle, side int) (*Page, error) {
	c, err := p.Crop(r)
	if err != nil {
		return nil, err
	}
	s := c.Size()
	side = min(side, MaxZoom*max(s.X, s.Y))
	if side <= 0 {
		return c, nil
	}
	return c.Scaled(FitSize(s.X, s.Y, side))
}
