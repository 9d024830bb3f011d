package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// detectFormat names the format of a file from its first record.
func detectFormat(data []byte, isArray bool) (Format, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return "", jsonError(err)
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("contexts"):
		return FormatHotpotQA, nil
	case has("context") && (has("question") || has("supporting_facts")):
		return FormatHotpotQAOriginal, nil
	case has("contents") || has("text"):
		if isArray {
			return FormatJSONArray, nil
		}
		if has("text") {
			return FormatJSONL, nil
		}
		return FormatSearchR1, nil
	case has("data_source") && has("prompt"):
		return "", fmt.Errorf("%w (Search-R1 format: data_source/prompt/reward_model); give a corpus file", ErrQuestionFile)
	case has("question") || has("question_text") || has("golden_answers"):
		return "", fmt.Errorf("%w (fields %s); give a corpus file", ErrQuestionFile, keyList(keys))
	}
	return "", fmt.Errorf("%w: first record has fields %s; want id/contents, id/title/text, or HotpotQA contexts",
		ErrUnknownFormat, keyList(keys))
}

func keyList(keys map[string]json.RawMessage) string {
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	if len(ks) > 8 {
		ks = append(ks[:8], "...")
	}
	return "[" + strings.Join(ks, " ") + "]"
}

// decoderFor returns the record decoder of a format. Records of a JSON
// array may omit "id": it defaults to the element index.
func decoderFor(f Format, isArray bool) recordDecoder {
	switch f {
	case FormatHotpotQA:
		return decodeIRCoT
	case FormatHotpotQAOriginal:
		return decodeHotpotOriginal
	case FormatSearchR1:
		return func(data []byte, at loc) ([]Passage, error) {
			p, err := decodePassage(data, true, isArray, at.row)
			return []Passage{p}, err
		}
	case FormatJSONL, FormatJSONArray:
		return func(data []byte, at loc) ([]Passage, error) {
			p, err := decodePassage(data, false, isArray, at.row)
			return []Passage{p}, err
		}
	}
	return func([]byte, loc) ([]Passage, error) {
		return nil, fmt.Errorf("%w: cannot decode records as %q", ErrUnknownFormat, f)
	}
}

// passageRecord holds the fields of a passage record; pointers tell a
// missing field from an empty one.
type passageRecord struct {
	ID       json.RawMessage `json:"id"`
	Title    *string         `json:"title"`
	Text     *string         `json:"text"`
	Contents *string         `json:"contents"`
}

// decodePassage decodes one {"id","contents"} or {"id","title","text"}
// record. wantContents requires "contents"; otherwise "text" is used and
// "contents" is the fallback. With defaultID, a missing id is row.
func decodePassage(data []byte, wantContents, defaultID bool, row int) (Passage, error) {
	rec, ok := fastPassageRecord(data)
	if !ok {
		if err := json.Unmarshal(data, &rec); err != nil {
			return Passage{}, jsonError(err)
		}
	}
	id, err := parseID(rec.ID)
	if err != nil {
		return Passage{}, err
	}
	if id == "" {
		missing := rec.ID == nil || string(rec.ID) == "null"
		if !defaultID || !missing {
			return Passage{}, missingOrEmpty("id", missing)
		}
		id = strconv.Itoa(row)
	}
	p := Passage{ID: id}
	switch {
	case rec.Contents != nil && (wantContents || rec.Text == nil):
		p.Title, p.Text = SplitContents(*rec.Contents)
		if p.Text == "" {
			return Passage{}, errors.New("empty text in field \"contents\"")
		}
		return p, nil
	case wantContents:
		return Passage{}, missingOrEmpty("contents", true)
	case rec.Text == nil:
		return Passage{}, missingOrEmpty("text", true)
	}
	p.Text = *rec.Text
	if rec.Title != nil {
		p.Title = *rec.Title
	}
	if p.Text == "" {
		return Passage{}, missingOrEmpty("text", false)
	}
	return p, nil
}

// parseID accepts a JSON string or number (kept as written, so 17 → "17").
// A missing or null id is "".
func parseID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("field \"id\": %w", jsonError(err))
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil // Unmarshal already validated the number
	}
	return "", fmt.Errorf("field \"id\": want a string or number, got %s", jsonKind(raw[0]))
}

func missingOrEmpty(field string, missing bool) error {
	if missing {
		return fmt.Errorf("missing field %q", field)
	}
	return fmt.Errorf("empty field %q", field)
}

// jsonError rewrites encoding/json errors without Go type names.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("record is a JSON %s, want an object", te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("field %q: want %s, got JSON %s", te.Field, goKindName(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("bad JSON: %v (at byte %d)", se, se.Offset)
	}
	return fmt.Errorf("bad JSON: %w", err)
}

func goKindName(k string) string {
	switch k {
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "ptr":
		return "a value"
	}
	return "a " + k
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "an invalid value"
}

// SplitContents splits the Search-R1/FlashRAG "contents" form back into
// title and text: a first line wrapped in double quotes is the title and
// the rest is the text. Without such a line the title is empty and the
// whole string is the text. It inverts Passage.Contents for titles without
// newlines.
func SplitContents(contents string) (title, text string) {
	nl := strings.IndexByte(contents, '\n')
	if nl < 2 || contents[0] != '"' || contents[nl-1] != '"' {
		return "", contents
	}
	return contents[1 : nl-1], contents[nl+1:]
}
