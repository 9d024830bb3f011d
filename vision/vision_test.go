package vision

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

func TestParseBox(t *testing.T) {
	tests := []struct {
		in      string
		want    Box
		wantErr string
	}{
		{in: "[10, 20, 300, 400]", want: Box{10, 20, 300, 400}},
		{in: "10,20,300,400", want: Box{10, 20, 300, 400}},
		{in: " (0.1 0.2 0.5 0.6) ", want: Box{0.1, 0.2, 0.5, 0.6}},
		{in: "1e2,0,2e2,5", want: Box{100, 0, 200, 5}},
		{in: "[1,2,3]", wantErr: "want 4 numbers"},
		{in: "[1,2,3,4", wantErr: "unbalanced"},
		{in: "1,2,x,4", wantErr: `coordinate "x"`},
		{in: "-1,2,3,4", wantErr: "coordinate"},
		{in: "NaN,2,3,4", wantErr: "coordinate"},
		{in: "0,0,1e30,5", wantErr: "coordinate"},
		{in: "5,5,5,9", wantErr: "empty"},
		{in: "", wantErr: "want 4 numbers"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBox(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseBox(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseBox(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestBoxRect(t *testing.T) {
	size := image.Pt(200, 100)
	tests := []struct {
		name    string
		box     Box
		want    image.Rectangle
		wantErr bool
	}{
		{name: "pixels", box: Box{10, 20, 50, 60}, want: image.Rect(10, 20, 50, 60)},
		{name: "pixels round outwards", box: Box{10.7, 20.2, 49.1, 59.9}, want: image.Rect(10, 20, 50, 60)},
		{name: "fractions", box: Box{0.25, 0.5, 0.75, 1}, want: image.Rect(50, 50, 150, 100)},
		{name: "whole image as fractions", box: Box{0, 0, 1, 1}, want: image.Rect(0, 0, 200, 100)},
		{name: "clipped", box: Box{150, 80, 400, 300}, want: image.Rect(150, 80, 200, 100)},
		{name: "outside", box: Box{300, 10, 400, 20}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Rect(size)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Rect error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Rect = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFitAndScale(t *testing.T) {
	tests := []struct {
		w, h, side int
		want       image.Point
	}{
		{1600, 1200, 800, image.Pt(800, 600)},
		{1200, 1600, 800, image.Pt(600, 800)},
		{1621, 1191, 1024, image.Pt(1024, 752)},
		{100, 1, 10, image.Pt(10, 1)},
		{0, 5, 10, image.Point{}},
	}
	for _, tc := range tests {
		if got := FitSize(tc.w, tc.h, tc.side); got != tc.want {
			t.Errorf("FitSize(%d, %d, %d) = %v, want %v", tc.w, tc.h, tc.side, got, tc.want)
		}
	}
	// A box on a half-size view maps to twice its coordinates on the page.
	got := ScaleRect(image.Rect(10, 5, 21, 15), image.Pt(100, 50), image.Pt(200, 100))
	if want := image.Rect(20, 10, 42, 30); got != want {
		t.Errorf("ScaleRect = %v, want %v", got, want)
	}
}

// quadrants is a 40×20 image: red, green / blue, white quadrants.
func quadrants() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			c := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 255, 255}}[y/10*2+x/20]
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestCropAndZoom(t *testing.T) {
	p := &Page{ID: "q", Image: quadrants()}
	tests := []struct {
		name     string
		r        image.Rectangle
		side     int
		wantSize image.Point
		want     color.RGBA // the zoomed crop's centre
	}{
		{name: "green quadrant doubled", r: image.Rect(20, 0, 40, 10), side: 40, wantSize: image.Pt(40, 20), want: color.RGBA{0, 255, 0, 255}},
		{name: "blue corner zoom capped at 4x", r: image.Rect(0, 10, 5, 20), side: 1000, wantSize: image.Pt(20, 40), want: color.RGBA{0, 0, 255, 255}},
		{name: "clipped to page", r: image.Rect(30, 15, 90, 90), side: 10, wantSize: image.Pt(10, 5), want: color.RGBA{255, 255, 255, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := p.Zoom(tc.r, tc.side)
			if err != nil {
				t.Fatal(err)
			}
			if got := z.Size(); got != tc.wantSize {
				t.Fatalf("size %v, want %v", got, tc.wantSize)
			}
			c := color.RGBAModel.Convert(z.Image.At(tc.wantSize.X/2, tc.wantSize.Y/2)).(color.RGBA)
			if c != tc.want {
				t.Errorf("centre %v, want %v", c, tc.want)
			}
		})
	}
	if _, err := p.Crop(image.Rect(50, 50, 60, 60)); err == nil {
		t.Error("a crop outside the page succeeded")
	}
}

func TestRenderLayout(t *testing.T) {
	p := Render(corpus.Passage{ID: "w1", Title: "Varnel Labs", Text: "Varnel Labs was founded in 1987 by Ada Quist in the city of Morrow. " + strings.Repeat("Its main product is a loom. ", 10)}, RenderOptions{Width: 320})
	size := p.Size()
	if size.X != 320 || size.Y < 100 {
		t.Fatalf("page size %v", size)
	}
	if p.Text == "" || !strings.HasPrefix(p.Text, "Varnel Labs\nVarnel Labs was founded") {
		t.Fatalf("page text %q", p.Text)
	}
	for _, w := range p.Words {
		if !w.Box.In(p.Image.Bounds()) {
			t.Fatalf("word %q box %v outside the page %v", w.Text, w.Box, p.Image.Bounds())
		}
		if !inked(p.Image, w.Box) {
			t.Fatalf("word %q box %v has no dark pixel", w.Text, w.Box)
		}
	}
	// The box around one word reads exactly that word, and the crop of it
	// keeps it as its text layer.
	var founded Word
	for _, w := range p.Words {
		if w.Text == "founded" {
			founded = w
		}
	}
	if got := p.TextIn(founded.Box); got != "founded" {
		t.Errorf("TextIn(box of founded) = %q", got)
	}
	c, err := p.Crop(founded.Box.Inset(-2))
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != "founded" || len(c.Words) != 1 || c.Words[0].Box.Min != image.Pt(2, 2) {
		t.Errorf("crop text %q words %v", c.Text, c.Words)
	}
	// The title line, whole width: the title only.
	title := image.Rect(0, 0, size.X, p.Words[0].Box.Max.Y)
	if got := p.TextIn(title); got != "Varnel Labs" {
		t.Errorf("title line reads %q", got)
	}
	// Margins stay white.
	if inked(p.Image, image.Rect(0, 0, 20, size.Y)) {
		t.Error("left margin has ink")
	}
	// Scaling keeps the layout: the scaled box of a word still reads it.
	s, err := p.Fit(160)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TextIn(ScaleRect(founded.Box, size, s.Size())); got != "founded" {
		t.Errorf("scaled page reads %q in the scaled box", got)
	}
}

func inked(img image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if g := color.GrayModel.Convert(img.At(x, y)).(color.Gray); g.Y < 128 {
				return true
			}
		}
	}
	return false
}

func TestRenderLongAndEmpty(t *testing.T) {
	p := Render(corpus.Passage{ID: "x", Text: strings.Repeat("a", 500) + " " + strings.Repeat("word ", 5000)}, RenderOptions{Width: 200, MaxHeight: 300})
	if p.Size().Y > 300 || p.Size().X != 200 {
		t.Errorf("size %v beyond the limits", p.Size())
	}
	for _, w := range p.Words {
		if w.Box.Max.X > 200-24 {
			t.Fatalf("word %q at %v crosses the margin", w.Text, w.Box)
		}
	}
	e := Render(corpus.Passage{ID: "e"}, RenderOptions{})
	if e.Text != "" || e.Size().X != 640 {
		t.Errorf("empty page text %q size %v", e.Text, e.Size())
	}
}

func TestEncodeDecode(t *testing.T) {
	img := quadrants()
	for _, format := range []string{"png", "jpeg"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(&buf, img, format); err != nil {
				t.Fatal(err)
			}
			got, err := Decode(&buf, "mem."+format)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != img.Bounds() {
				t.Errorf("bounds %v", got.Bounds())
			}
			if format == "png" && Hash(got) != Hash(img) {
				t.Error("PNG round trip changed the pixels' hash")
			}
			u, err := DataURL(img, format)
			if err != nil || !strings.HasPrefix(u, "data:image/"+format+";base64,") {
				t.Errorf("DataURL = %.40q, %v", u, err)
			}
		})
	}
	for _, bad := range []string{"", "GIF89a", "\x89PNG\r\n\x1a\nbroken", "\xff\xd8\xff"} {
		if _, err := Decode(strings.NewReader(bad), "bad.png"); err == nil || !strings.Contains(err.Error(), "bad.png") {
			t.Errorf("Decode(%q) error = %v, want one naming the file", bad, err)
		}
	}
	if err := Encode(&bytes.Buffer{}, img, "webp"); err == nil {
		t.Error("Encode webp succeeded")
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, img, "png"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), quadrants())
	writePNG(t, filepath.Join(dir, "b.png"), quadrants().SubImage(image.Rect(5, 5, 25, 15)))
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("quarterly revenue chart"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("surface density of galaxies"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.md"), []byte("ignored"), 0o644)
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 {
		t.Fatalf("Len = %d", d.Len())
	}
	res, err := d.Search(context.Background(), []string{"galaxies density", "a", "nothing here"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]string
	for _, hs := range res {
		var row []string
		for _, h := range hs {
			row = append(row, h.Passage.ID)
		}
		ids = append(ids, row)
	}
	if diff := cmp.Diff([][]string{{"b"}, {"a"}, nil}, ids); diff != "" {
		t.Errorf("search (-want +got):\n%s", diff)
	}
	pg, err := d.Page(context.Background(), res[0][0].Passage)
	if err != nil {
		t.Fatal(err)
	}
	if pg.Size() != image.Pt(20, 10) || pg.Image.Bounds().Min != (image.Point{}) || pg.Text != "surface density of galaxies" {
		t.Errorf("page b: size %v bounds %v text %q", pg.Size(), pg.Image.Bounds(), pg.Text)
	}
	if _, err := d.Page(context.Background(), corpus.Passage{ID: "zzz"}); err == nil {
		t.Error("unknown page succeeded")
	}
	os.WriteFile(filepath.Join(dir, "c.png"), []byte("not an image"), 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "c.png") {
		t.Errorf("OpenDir with a broken image: %v, want an error naming c.png", err)
	}
	if _, err := OpenDir(t.TempDir()); err == nil {
		t.Error("OpenDir of an empty directory succeeded")
	}
}

// TestSharedPages crops and zooms real page images (ViDoRe ArxivQA).
func TestSharedPages(t *testing.T) {
	dir := shareddata.Path(t, "visual/vidore_arxivqa_sample/images")
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 {
		t.Fatalf("%d pages, want 10", d.Len())
	}
	p, err := d.Page(context.Background(), corpus.Passage{ID: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != image.Pt(1621, 1191) {
		t.Fatalf("page 0 size %v", p.Size())
	}
	shown, err := p.Fit(512)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Size() != image.Pt(512, 376) {
		t.Fatalf("shown size %v", shown.Size())
	}
	// The top-left quarter of the shown page, mapped back to the page and
	// zoomed from full resolution.
	r, _ := Box{0, 0, 0.5, 0.5}.Rect(shown.Size())
	z, err := p.Zoom(ScaleRect(r, shown.Size(), p.Size()), 512)
	if err != nil {
		t.Fatal(err)
	}
	if z.Size() != image.Pt(512, 376) {
		t.Errorf("zoom size %v", z.Size())
	}
	if Hash(z.Image) == Hash(shown.Image) || len(Hash(z.Image)) != 64 {
		t.Error("hash does not tell a crop from its page")
	}
}

func FuzzParseBox(f *testing.F) {
	for _, s := range []string{"[10, 20, 300, 400]", "0.1 0.2 0.5 0.6", "(1,2,3,4)", "[", "1,2,3", "1e400,0,1,1", "-0,0,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBox(s)
		if err != nil {
			return
		}
		if !(b[2] > b[0] && b[3] > b[1]) {
			t.Fatalf("ParseBox(%q) = %v, an empty box", s, b)
		}
		r, err := b.Rect(image.Pt(64, 48))
		if err == nil && (r.Empty() || !r.In(image.Rect(0, 0, 64, 48))) {
			t.Fatalf("Rect of %v = %v, outside or empty", b, r)
		}
	})
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, quadrants(), "png")
	f.Add(buf.Bytes())
	buf.Reset()
	Encode(&buf, quadrants(), "jpeg")
	f.Add(buf.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe0})
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		p := &Page{ID: "f", Image: img}
		if b := img.Bounds(); b.Min == (image.Point{}) && !b.Empty() {
			if _, err := p.Zoom(image.Rect(0, 0, b.Dx()/2+1, b.Dy()/2+1), 16); err != nil {
				t.Fatalf("zoom of a decoded %v image: %v", b, err)
			}
		}
	})
}

// TestWriteDir renders passages into a directory and reads it back as an
// image corpus with a text layer.
func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pages")
	ps := []corpus.Passage{
		{ID: "p1", Title: "Morrow", Text: "Morrow is a city on the river Lune, founded in 1204."},
		{ID: "p2", Title: "Ada Quist", Text: "Ada Quist founded Varnel Labs in 1987."},
	}
	if err := WriteDir(context.Background(), dir, ps, RenderOptions{Width: 400}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Search(context.Background(), []string{"who founded Varnel Labs"}, 1)
	if err != nil || len(res[0]) != 1 || res[0][0].Passage.ID != "p2" {
		t.Fatalf("search: %v %v", res, err)
	}
	pg, err := d.Page(context.Background(), res[0][0].Passage)
	if err != nil {
		t.Fatal(err)
	}
	want := Render(ps[1], RenderOptions{Width: 400})
	if diff := cmp.Diff(want.Words, pg.Words); diff != "" {
		t.Errorf("text layer read back (-want +got):\n%s", diff)
	}
	if Hash(pg.Image) != Hash(want.Image) || pg.Text != want.Text {
		t.Error("page read back differs from its rendering")
	}
	if err := WriteDir(context.Background(), dir, []corpus.Passage{{ID: "../x"}}, RenderOptions{}); err == nil {
		t.Error("an id with a path was written")
	}
}

func TestParseWords(t *testing.T) {
	size := image.Pt(100, 50)
	for _, tc := range []struct {
		in, wantErr string
	}{
		{in: `[{"text":"a","box":[0,0,10,10]},{"text":"b","box":[20,5,40,20]}]`},
		{in: `[]`},
		{in: `[{"text":"a","box":[0,0,0,10]}]`, wantErr: "word 1"},
		{in: `[{"text":"a","box":[0,0,10,10]},{"text":"b","box":[90,40,110,60]}]`, wantErr: `word 2 ("b")`},
		{in: `[{"text":"a","box":[0,0,10,10],"extra":1}]`, wantErr: "unknown field"},
		{in: `{`, wantErr: "layer.json"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseWords(strings.NewReader(tc.in), "layer.json", size)
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseWords(f *testing.F) {
	f.Add(`[{"text":"a","box":[0,0,10,10]}]`)
	f.Add(`[{"text":"","box":[-1,0,10,10]}]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := ParseWords(strings.NewReader(s), "fuzz", image.Pt(64, 64))
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Box.Empty() || !w.Box.In(image.Rect(0, 0, 64, 64)) {
				t.Fatalf("accepted box %v", w.Box)
			}
		}
		p := &Page{Image: image.NewRGBA(image.Rect(0, 0, 64, 64)), Words: ws}
		p.TextIn(image.Rect(0, 0, 32, 32))
	})
}

func BenchmarkRender(b *testing.B) {
	p := corpus.Passage{ID: "b", Title: "Varnel Labs", Text: strings.Repeat("Varnel Labs was founded in 1987 by Ada Quist. ", 12)}
	for b.Loop() {
		Render(p, RenderOptions{})
	}
}

// BenchmarkShowAndZoom is one VRAG step on a real 1621×1191 page: fit it
// to 1024 px, hash what is shown, zoom a quarter back to 1024 px.
func BenchmarkShowAndZoom(b *testing.B) {
	d, err := OpenDir(shareddata.Path(b, "visual/vidore_arxivqa_sample/images"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := d.Page(context.Background(), corpus.Passage{ID: "0"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v, _ := p.Fit(1024)
		Hash(v.Image)
		r, _ := Box{0, 0, 0.5, 0.5}.Rect(v.Size())
		if _, err := p.Zoom(ScaleRect(r, v.Size(), p.Size()), 1024); err != nil {
			b.Fatal(err)
		}
	}
}
