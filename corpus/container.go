package corpus

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// rawRecord is one undecoded JSON record and where it starts.
type rawRecord struct {
	data []byte // valid until the next call to next
	at   loc
}

// container splits a JSON file into records: one per line (JSONL) or one
// per element of a top-level array. A plain error is a bad record that can
// be skipped; a fatalError ends the file.
type container interface {
	next() (rawRecord, error)
}

// lineContainer reads JSONL with a bufio.Reader so that lines of many
// megabytes work (bufio.Scanner stops at 64 KB by default). Blank lines are
// skipped.
type lineContainer struct {
	br   *bufio.Reader
	line int // number of the next line to read
	max  int
	buf  []byte
}

func newLineContainer(br *bufio.Reader, firstLine, max int) *lineContainer {
	return &lineContainer{br: br, line: firstLine, max: max}
}

func (c *lineContainer) next() (rawRecord, error) {
	for {
		line, n, err := c.readLine()
		at := loc{line: n, row: -1}
		if err != nil {
			return rawRecord{at: at}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return rawRecord{data: line, at: at}, nil
	}
}

// readLine returns the next line without its newline and its number. A line
// over the limit is discarded and reported as a bad record.
func (c *lineContainer) readLine() ([]byte, int, error) {
	c.buf = c.buf[:0]
	n := c.line
	tooLong := false
	for {
		frag, err := c.br.ReadSlice('\n')
		if !tooLong && len(c.buf)+len(frag) > c.max+1 {
			tooLong, c.buf = true, c.buf[:0]
		}
		if !tooLong {
			c.buf = append(c.buf, frag...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(c.buf) == 0 && !tooLong {
				return nil, n, io.EOF
			}
		case err != nil:
			return nil, n, fatalError{fmt.Errorf("read: %w", err)}
		}
		c.line++
		if tooLong {
			return nil, n, fmt.Errorf("line longer than %d bytes", c.max)
		}
		return bytes.TrimSuffix(c.buf, []byte("\n")), n, nil
	}
}

// arrayContainer streams the elements of one top-level JSON array. It
// finds where each element ends by tracking strings and bracket depth
// (several times faster than json.Decoder, which validates as it goes) and
// leaves validation to the record decoders, so a malformed element is a
// bad record that SkipBad can skip. Broken structure between elements, or a
// file that ends inside the array, is fatal.
type arrayContainer struct {
	br        *bufio.Reader
	line      int // line of the next byte
	row       int
	max       int
	started   bool
	needComma bool
	done      bool
	buf       []byte
}

func newArrayContainer(br *bufio.Reader, firstLine, max int) *arrayContainer {
	return &arrayContainer{br: br, line: firstLine, max: max}
}

func (c *arrayContainer) next() (rawRecord, error) {
	if c.done {
		return rawRecord{at: c.here()}, io.EOF
	}
	if !c.started {
		c.started = true
		if b, err := c.peek(); err != nil || b != '[' {
			return c.fatal("want a JSON array")
		}
		c.br.Discard(1)
	}
	b, err := c.peek()
	if err != nil {
		return c.fatal("")
	}
	if b == ']' {
		c.br.Discard(1)
		c.done = true
		if _, err := c.peek(); err != io.EOF {
			return c.fatal("data after the closing ']'")
		}
		return rawRecord{at: c.here()}, io.EOF
	}
	if c.needComma {
		if b != ',' {
			return c.fatal("want ',' or ']' after array element")
		}
		c.br.Discard(1)
		if b, err = c.peek(); err != nil || b == ']' {
			return c.fatal("want a value after ','")
		}
	}
	c.needComma = true
	at := c.here()
	tooLong, err := c.value(b)
	if err != nil {
		return c.fatal("")
	}
	c.row++
	if tooLong {
		return rawRecord{at: at}, fmt.Errorf("array element longer than %d bytes", c.max)
	}
	return rawRecord{data: c.buf, at: at}, nil
}

func (c *arrayContainer) here() loc { return loc{line: c.line, row: c.row} }

// fatal ends the file; an empty what means it ended inside the array.
func (c *arrayContainer) fatal(what string) (rawRecord, error) {
	c.done = true
	if what == "" {
		what = "truncated file: unexpected end inside the JSON array"
	}
	return rawRecord{at: c.here()}, fatalError{errors.New(what)}
}

// peek skips whitespace, counting lines, and returns the next byte unread.
func (c *arrayContainer) peek() (byte, error) {
	for {
		b, err := c.br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case '\n':
			c.line++
		case ' ', '\t', '\r':
		default:
			c.br.UnreadByte()
			return b, nil
		}
	}
}

// value reads one JSON value starting with first into c.buf (unless it is
// longer than c.max); it returns io.ErrUnexpectedEOF if the file ends
// inside a string, object or array.
func (c *arrayContainer) value(first byte) (tooLong bool, err error) {
	c.buf = c.buf[:0]
	scalar := first != '{' && first != '[' && first != '"'
	depth, inStr, esc := 0, false, false
	for {
		chunk, err := c.br.Peek(max(c.br.Buffered(), 1))
		if len(chunk) == 0 {
			if scalar && err == io.EOF {
				return tooLong, nil
			}
			return tooLong, io.ErrUnexpectedEOF
		}
		end := -1
		for i, b := range chunk {
			switch {
			case inStr:
				if esc {
					esc = false
				} else if b == '\\' {
					esc = true
				} else if b == '"' {
					inStr = false
					if depth == 0 {
						end = i + 1
					}
				}
			case scalar:
				switch b {
				case ',', ']', '}', ' ', '\t', '\r', '\n':
					end = i
				}
			case b == '"':
				inStr = true
			case b == '{' || b == '[':
				depth++
			case b == '}' || b == ']':
				depth--
				if depth == 0 {
					end = i + 1
				}
			}
			if end >= 0 {
				break
			}
		}
		take := chunk
		if end >= 0 {
			take = chunk[:end]
		}
		c.line += bytes.Count(take, []byte("\n"))
		if !tooLong && len(c.buf)+len(take) > c.max {
			tooLong, c.buf = true, c.buf[:0]
		}
		if !tooLong {
			c.buf = append(c.buf, take...)
		}
		c.br.Discard(len(take))
		if end >= 0 {
			return tooLong, nil
		}
	}
}

// jsonSource decodes the records of a container into passages.
type jsonSource struct {
	c        container
	dec      recordDecoder
	pushback *rawRecord // the record read for detection
}

// recordDecoder turns one JSON record into passages.
type recordDecoder func(data []byte, at loc) ([]Passage, error)

func (s *jsonSource) next() ([]Passage, loc, error) {
	var rec rawRecord
	if s.pushback != nil {
		rec, s.pushback = *s.pushback, nil
	} else {
		var err error
		rec, err = s.c.next()
		if err != nil {
			return nil, rec.at, err
		}
	}
	ps, err := s.dec(rec.data, rec.at)
	return ps, rec.at, err
}
