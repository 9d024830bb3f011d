package vision

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// A page's text layer is stored beside its image as NAME.words.json: a
// JSON array of {"text": "word", "box": [left, top, right, bottom]}, in
// reading order, boxes in the image's pixels.
const wordsExt = ".words.json"

type wireWord struct {
	Text string `json:"text"`
	Box  [4]int `json:"box"`
}

// MarshalWords encodes a text layer in the NAME.words.json format.
func MarshalWords(words []Word) ([]byte, error) {
	out := make([]wireWord, len(words))
	for i, w := range words {
		out[i] = wireWord{Text: w.Text, Box: [4]int{w.Box.Min.X, w.Box.Min.Y, w.Box.Max.X, w.Box.Max.Y}}
	}
	return json.Marshal(out)
}

// ParseWords decodes a text layer for an image of the given size; name
// labels errors. Every box must be non-empty and inside the image.
func ParseWords(r io.Reader, name string, size image.Point) ([]Word, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("text layer %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("text layer %s: larger than %d bytes", name, MaxFileBytes)
	}
	var ws []wireWord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ws); err != nil {
		return nil, fmt.Errorf("text layer %s: %w", name, err)
	}
	bounds := image.Rectangle{Max: size}
	out := make([]Word, len(ws))
	for i, w := range ws {
		r := image.Rect(w.Box[0], w.Box[1], w.Box[2], w.Box[3])
		if w.Box[2] <= w.Box[0] || w.Box[3] <= w.Box[1] || !r.In(bounds) {
			return nil, fmt.Errorf("text layer %s: word %d (%q): box %v is empty or outside the %d×%d image", name, i+1, w.Text, w.Box, size.X, size.Y)
		}
		out[i] = Word{Text: w.Text, Box: r}
	}
	return out, nil
}

// WriteDir renders passages as pages into dir, which it creates: ID.png,
// ID.txt (the page text) and ID.words.json (the text layer), so OpenDir
// reads them back as a searchable image corpus whose crops have exact
// text. Ids must be plain file names.
func WriteDir(ctx context.Context, dir string, ps []corpus.Passage, opt RenderOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write pages: %w", err)
	}
	for i, p := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.ID == "" || p.ID != filepath.Base(p.ID) || strings.HasPrefix(p.ID, ".") || strings.ContainsAny(p.ID, `/\`) {
			return fmt.Errorf("write pages %s: passage %d: id %q is not a plain file name", dir, i+1, p.ID)
		}
		pg := Render(p, opt)
		var img bytes.Buffer
		if err := Encode(&img, pg.Image, "png"); err != nil {
			return fmt.Errorf("write pages %s: %s: %w", dir, p.ID, err)
		}
		words, err := MarshalWords(pg.Words)
		if err != nil {
			return fmt.Errorf("write pages %s: %s: %w", dir, p.ID, err)
		}
		for ext, data := range map[string][]byte{".png": img.Bytes(), ".txt": []byte(pg.Text), wordsExt: words} {
			if err := os.WriteFile(filepath.Join(dir, p.ID+ext), data, 0o644); err != nil {
				return fmt.Errorf("write pages: %w", err)
			}
		}
	}
	return nil
}

// readWords reads the text layer beside an image, if there is one.
func readWords(imagePath string, size image.Point) ([]Word, error) {
	path := strings.TrimSuffix(imagePath, filepath.Ext(imagePath)) + wordsExt
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("text layer: %w", err)
	}
	defer f.Close()
	return ParseWords(f, path, size)
}
