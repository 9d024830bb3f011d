package vision

import (
	"context"
	"image"
	"image/color"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/sleuth-research/sleuth/corpus"
)

// RenderOptions shape rendered pages. Zero fields take the defaults noted.
type RenderOptions struct {
	Width     int // page width in pixels (default 640)
	Margin    int // blank border in pixels (default 24)
	LineGap   int // pixels between lines (default 4)
	MaxHeight int // longer text is cut at this page height (default 4096)
}

func (o RenderOptions) withDefaults() RenderOptions {
	if o.Width <= 0 {
		o.Width = 640
	}
	if o.Margin <= 0 {
		o.Margin = 24
	}
	if o.LineGap <= 0 {
		o.LineGap = 4
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 4096
	}
	o.Width = max(o.Width, 2*o.Margin+8*glyphW) // room for a few glyphs a line
	return o
}

// The fixed 7×13 font: every rune advances glyphW pixels, so a word's
// box is known exactly without drawing it.
const (
	glyphW  = 7
	ascent  = 11
	descent = 2
)

// Render draws a passage as a page: the title in bold, a rule, then the
// text wrapped to the page width, black on white in a fixed 7×13 font.
// The page's Words record where every word was drawn, so the text inside
// any box is exact (a perfect OCR layer).
func Render(p corpus.Passage, opt RenderOptions) *Page {
	o := opt.withDefaults()
	title, body, height := layout(p, o)
	img := image.NewRGBA(image.Rect(0, 0, o.Width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.Black, Face: basicfont.Face7x13}
	for _, w := range title {
		for dx := range 2 { // drawn twice, a pixel apart: bold
			d.Dot = fixed.P(w.Box.Min.X+dx, w.Box.Min.Y+ascent)
			d.DrawString(w.Text)
		}
	}
	if len(title) > 0 {
		y := title[len(title)-1].Box.Max.Y + o.LineGap
		draw.Draw(img, image.Rect(o.Margin, y, o.Width-o.Margin, y+1), image.NewUniform(color.Gray{Y: 96}), image.Point{}, draw.Src)
	}
	for _, w := range body {
		d.Dot = fixed.P(w.Box.Min.X, w.Box.Min.Y+ascent)
		d.DrawString(w.Text)
	}
	pg := &Page{ID: p.ID, Title: p.Title, Image: img, Words: append(title, body...)}
	pg.Text = pg.TextIn(img.Bounds())
	return pg
}

// layout places the title's and the text's words in lines and returns the
// page height.
func layout(p corpus.Passage, o RenderOptions) (title, body []Word, height int) {
	lineH := ascent + descent + o.LineGap
	x, y := o.Margin, o.Margin
	right, bottom := o.Width-o.Margin, o.MaxHeight-o.Margin
	place := func(words []string, bold int) []Word {
		var out []Word
		for _, w := range words {
			for _, part := range splitLong(w, (right-o.Margin)/glyphW) {
				wd := utf8.RuneCountInString(part)*glyphW + bold
				if x > o.Margin && x+wd > right {
					x, y = o.Margin, y+lineH
				}
				if y+lineH > bottom {
					return out
				}
				out = append(out, Word{Text: part, Box: image.Rect(x, y, x+wd, y+ascent+descent)})
				x += wd + glyphW
			}
		}
		return out
	}
	title = place(strings.Fields(p.Title), 1)
	if len(title) > 0 {
		x, y = o.Margin, y+lineH+2*o.LineGap // room for the rule
	}
	body = place(strings.Fields(p.Text), 0)
	last := y
	if n := len(body); n > 0 {
		last = body[n-1].Box.Max.Y
	} else if n := len(title); n > 0 {
		last = title[n-1].Box.Max.Y
	}
	return title, body, min(o.MaxHeight, last+o.Margin)
}

// splitLong cuts a word longer than n runes into pieces that fit a line.
func splitLong(w string, n int) []string {
	if n <= 0 || utf8.RuneCountInString(w) <= n {
		return []string{w}
	}
	var out []string
	r := []rune(w)
	for len(r) > n {
		out = append(out, string(r[:n]))
		r = r[n:]
	}
	return append(out, string(r))
}

// Renderer is a Source that draws each retrieved passage as a page, so a
// text corpus (the synthetic world's) is also a page-image corpus.
type Renderer struct {
	Options RenderOptions
}

// Page renders p.
func (r Renderer) Page(_ context.Context, p corpus.Passage) (*Page, error) {
	return Render(p, r.Options), nil
}
