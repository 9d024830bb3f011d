package corpus

import (
	"strings"
	"unicode/utf8"
)

// fastPassageRecord decodes the common flat passage record ({"id": ...,
// "contents": "..."} and the like) without reflection, about 4x faster
// than encoding/json (BenchmarkDecodePassage), which matters for corpora of
// tens of millions of lines.
// It answers ok=false for anything unusual (escaped keys, nested values,
// null, surrogate escapes, invalid UTF-8 or JSON), and the caller falls back
// to encoding/json; whenever ok is true the result equals encoding/json's
// (FuzzFastPassageRecord checks this).
func fastPassageRecord(data []byte) (rec passageRecord, ok bool) {
	d := fastDecoder{data: data}
	d.space()
	if !d.consume('{') {
		return rec, false
	}
	d.space()
	if d.consume('}') {
		return rec, d.end()
	}
	for {
		d.space()
		key, ok := d.key()
		if !ok {
			return rec, false
		}
		d.space()
		if !d.consume(':') {
			return rec, false
		}
		d.space()
		var dst **string
		switch string(key) { // no allocation: the compiler compares in place
		case "id":
			raw, ok := d.idValue()
			if !ok {
				return rec, false
			}
			rec.ID = raw
		case "title":
			dst = &rec.Title
		case "text":
			dst = &rec.Text
		case "contents":
			dst = &rec.Contents
		default:
			// encoding/json matches keys case-insensitively.
			for _, k := range [...]string{"id", "title", "text", "contents"} {
				if strings.EqualFold(string(key), k) {
					return rec, false
				}
			}
			if !d.skipScalar() {
				return rec, false
			}
		}
		if dst != nil {
			s, ok := d.str()
			if !ok {
				return rec, false
			}
			*dst = &s
		}
		d.space()
		if d.consume('}') {
			return rec, d.end()
		}
		if !d.consume(',') {
			return rec, false
		}
	}
}

type fastDecoder struct {
	data []byte
	i    int
}

func (d *fastDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) consume(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (d *fastDecoder) end() bool {
	d.space()
	return d.i == len(d.data)
}

// key returns the raw bytes of an object key without escapes.
func (d *fastDecoder) key() ([]byte, bool) {
	if !d.consume('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.data) {
		switch c := d.data[d.i]; {
		case c == '"':
			d.i++
			return d.data[start : d.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// str decodes a JSON string.
func (d *fastDecoder) str() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			s := d.data[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false // encoding/json would substitute U+FFFD
			}
			return string(s), true
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// strEscaped finishes a string that has escapes, from its first byte.
func (d *fastDecoder) strEscaped(start int) (string, bool) {
	var b strings.Builder // its String does not copy
	b.Grow(d.i - start + 64)
	b.Write(d.data[start:d.i])
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			s := b.String()
			return s, utf8.ValidString(s)
		case c < 0x20:
			return "", false
		case c != '\\':
			// Copy the run up to the next quote or escape at once.
			j := d.i + 1
			for j < len(d.data) && d.data[j] != '"' && d.data[j] != '\\' && d.data[j] >= 0x20 {
				j++
			}
			b.Write(d.data[d.i:j])
			d.i = j
			continue
		}
		if d.i+1 >= len(d.data) {
			return "", false
		}
		e := d.data[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := d.hex4()
			if !ok || (r >= 0xd800 && r < 0xe000) {
				return "", false // surrogates: leave pairing rules to encoding/json
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return "", false
}

// hex4 decodes the four hex digits of a \u escape.
func (d *fastDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// idValue returns the raw bytes of a string or number value.
func (d *fastDecoder) idValue() ([]byte, bool) {
	start := d.i
	if d.i < len(d.data) && d.data[d.i] == '"' {
		if _, ok := d.str(); !ok {
			return nil, false
		}
	} else if !d.number() {
		return nil, false
	}
	return d.data[start:d.i:d.i], true
}

// skipScalar skips a string, number, true, false or null.
func (d *fastDecoder) skipScalar() bool {
	if d.i >= len(d.data) {
		return false
	}
	switch d.data[d.i] {
	case '"':
		_, ok := d.str()
		return ok
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(string(d.data[d.i:min(d.i+5, len(d.data))]), lit) {
				d.i += len(lit)
				return true
			}
		}
		return false
	}
	return d.number()
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	d.consume('-')
	if d.consume('0') {
		// no more integer digits allowed
	} else if digits() == 0 {
		return false
	}
	if d.consume('.') && digits() == 0 {
		return false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
