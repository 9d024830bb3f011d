// Package vision handles page images for visual research agents (VRAG-RL):
// loading PNG and JPEG pages, cropping them by a box the policy names,
// zooming, encoding them for chat APIs, rendering text passages as page
// images with a pixel-exact text layer, and image corpora that can be
// searched by their text.
//
// Coordinates are pixels of the image they refer to, with rectangles
// half-open as in image.Rectangle: [Min, Max).
package vision

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/draw"
)

// Limits on decoded images, so a hostile file cannot exhaust memory.
const (
	MaxFileBytes = 64 << 20 // largest image file read
	MaxPixels    = 32 << 20 // largest width × height decoded (a 5,800-pixel square)
)

// Decode reads a PNG or JPEG image; name labels errors (a path, a URL).
// Other formats, oversized files and oversized images are errors.
func Decode(r io.Reader, name string) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("image %s: larger than %d bytes", name, MaxFileBytes)
	}
	return decodeBytes(data, name)
}

func decodeBytes(data []byte, name string) (image.Image, error) {
	var decode func(io.Reader) (image.Image, error)
	var config func(io.Reader) (image.Config, error)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		decode, config = png.Decode, png.DecodeConfig
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		decode, config = jpeg.Decode, jpeg.DecodeConfig
	default:
		return nil, fmt.Errorf("image %s: not a PNG or JPEG file", name)
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("image %s: %d×%d pixels is empty or over the %d-pixel limit", name, cfg.Width, cfg.Height, MaxPixels)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	return img, nil
}

// Load reads a PNG or JPEG file.
func Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	return Decode(f, path)
}

// Size returns an image file's width and height without decoding its
// pixels.
func Size(path string) (image.Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Point{}, fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return image.Point{}, fmt.Errorf("image %s: %w", path, err)
	}
	return image.Pt(cfg.Width, cfg.Height), nil
}

// Encode writes img as "png" or "jpeg" (quality 90).
func Encode(w io.Writer, img image.Image, format string) error {
	switch format {
	case "png", "":
		return png.Encode(w, img)
	case "jpeg", "jpg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: 90})
	}
	return fmt.Errorf("encode image: format %q is not png or jpeg", format)
}

// DataURL encodes img as a data: URL ("data:image/png;base64,…"), the form
// OpenAI-compatible chat APIs take inline images in.
func DataURL(img image.Image, format string) (string, error) {
	switch format {
	case "":
		format = "png"
	case "jpg":
		format = "jpeg"
	}
	var buf bytes.Buffer
	if err := Encode(&buf, img, format); err != nil {
		return "", err
	}
	return "data:image/" + format + ";base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Hash is a content hash of img's pixels (SHA-256 of its size and RGBA
// bytes, hex): traces store it instead of the image.
func Hash(img image.Image) string {
	rgba := toRGBA(img)
	h := sha256.New()
	b := rgba.Bounds()
	fmt.Fprintf(h, "%dx%d\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := rgba.PixOffset(b.Min.X, y)
		h.Write(rgba.Pix[i : i+4*b.Dx()])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// toRGBA returns img as an *image.RGBA, converting only when it is not one.
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// Crop copies the part of img inside r (in img's coordinates, clipped to
// its bounds) into a new image whose origin is (0, 0).
func Crop(img image.Image, r image.Rectangle) (*image.RGBA, error) {
	r = r.Intersect(img.Bounds())
	if r.Empty() {
		return nil, errors.New("crop: the box lies outside the image")
	}
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	return out, nil
}

// Resize scales img to w×h pixels with bilinear interpolation.
func Resize(img image.Image, w, h int) (*image.RGBA, error) {
	if w <= 0 || h <= 0 || int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("resize to %d×%d: size is empty or over the %d-pixel limit", w, h, MaxPixels)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(out, out.Bounds(), img, img.Bounds(), draw.Src, nil)
	return out, nil
}

// FitSize is the size of a w×h image scaled so that its longer side is
// side, keeping the aspect ratio (each side at least 1 pixel).
func FitSize(w, h, side int) image.Point {
	if w <= 0 || h <= 0 || side <= 0 {
		return image.Point{}
	}
	if w >= h {
		return image.Pt(side, max(1, (h*side+w/2)/w))
	}
	return image.Pt(max(1, (w*side+h/2)/h), side)
}
