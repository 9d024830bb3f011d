package vision

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
)

// Box is a region a policy names: left, top, right, bottom. When every
// value is at most 1 the box is in fractions of the image's width and
// height (so [0,0,1,1] is the whole image, never a 1-pixel corner);
// otherwise it is in pixels.
type Box [4]float64

// maxCoord bounds coordinates, far beyond any real image, so pixel
// arithmetic cannot overflow.
const maxCoord = 1 << 24

// ParseBox reads a box written as four numbers separated by commas or
// spaces, optionally in brackets: "[10, 20, 300, 400]", "0.1 0.2 0.5 0.6".
func ParseBox(s string) (Box, error) {
	var b Box
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") || strings.HasPrefix(t, "(") {
		if len(t) < 2 || (t[len(t)-1] != ']' && t[len(t)-1] != ')') {
			return b, fmt.Errorf("box %q: unbalanced bracket", s)
		}
		t = t[1 : len(t)-1]
	}
	fields := strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) != 4 {
		return b, fmt.Errorf("box %q: want 4 numbers (left, top, right, bottom), got %d", s, len(fields))
	}
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxCoord {
			return b, fmt.Errorf("box %q: coordinate %q is not a number in [0, %d]", s, f, maxCoord)
		}
		b[i] = v
	}
	if b[2] <= b[0] || b[3] <= b[1] {
		return b, fmt.Errorf("box %q: empty, right must exceed left and bottom exceed top", s)
	}
	return b, nil
}

// Fractional reports whether b is in fractions of the image.
func (b Box) Fractional() bool { return b[0] <= 1 && b[1] <= 1 && b[2] <= 1 && b[3] <= 1 }

// Rect turns b into a pixel rectangle of an image of the given size:
// fractions are scaled, left/top rounded down and right/bottom up (so a
// box never loses the pixels it touches), and the result is clipped to
// the image. A box that lies wholly outside the image is an error.
func (b Box) Rect(size image.Point) (image.Rectangle, error) {
	if size.X <= 0 || size.Y <= 0 {
		return image.Rectangle{}, fmt.Errorf("box %v: image is empty", b)
	}
	v := b
	if b.Fractional() {
		v = Box{b[0] * float64(size.X), b[1] * float64(size.Y), b[2] * float64(size.X), b[3] * float64(size.Y)}
	}
	r := image.Rect(int(math.Floor(v[0])), int(math.Floor(v[1])), int(math.Ceil(v[2])), int(math.Ceil(v[3])))
	clipped := r.Intersect(image.Rectangle{Max: size})
	if clipped.Empty() {
		return image.Rectangle{}, fmt.Errorf("box %v lies outside the %d×%d image", b, size.X, size.Y)
	}
	return clipped, nil
}

// ScaleRect maps r from an image of size from to the same region of an
// image of size to (a shown, resized page back to the original), rounding
// outwards and clipping.
func ScaleRect(r image.Rectangle, from, to image.Point) image.Rectangle {
	if from == to || from.X <= 0 || from.Y <= 0 {
		return r.Intersect(image.Rectangle{Max: to})
	}
	sx, sy := float64(to.X)/float64(from.X), float64(to.Y)/float64(from.Y)
	out := image.Rect(int(math.Floor(float64(r.Min.X)*sx)), int(math.Floor(float64(r.Min.Y)*sy)),
		int(math.Ceil(float64(r.Max.X)*sx)), int(math.Ceil(float64(r.Max.Y)*sy)))
	return out.Intersect(image.Rectangle{Max: to})
}
