package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

// arrayContainer streams the elements of one top-level JSON array with
// json.Decoder, so a large file is never held in memory. Syntax errors are
// fatal: the decoder cannot resynchronise after them.
type arrayContainer struct {
	dec     *json.Decoder
	lines   *lineTracker
	row     int
	started bool
	done    bool
	raw     json.RawMessage
}

func newArrayContainer(br *bufio.Reader, firstLine int) *arrayContainer {
	lt := &lineTracker{r: br, line: firstLine}
	return &arrayContainer{dec: json.NewDecoder(lt), lines: lt}
}

func (c *arrayContainer) next() (rawRecord, error) {
	at := loc{line: c.lines.lineAt(c.dec.InputOffset()), row: c.row}
	if c.done {
		return rawRecord{at: at}, io.EOF
	}
	if !c.started {
		c.started = true
		if tok, err := c.dec.Token(); err != nil || tok != json.Delim('[') {
			return c.syntax(at, err, "want a JSON array")
		}
	}
	if !c.dec.More() {
		return c.finish(at)
	}
	c.raw = c.raw[:0]
	if err := c.dec.Decode(&c.raw); err != nil {
		return c.syntax(at, err, "bad JSON")
	}
	end := c.dec.InputOffset()
	at.line = c.lines.lineAt(end - int64(len(c.raw)))
	c.row++
	return rawRecord{data: c.raw, at: at}, nil
}

// finish checks for the closing bracket and that nothing follows it.
func (c *arrayContainer) finish(at loc) (rawRecord, error) {
	c.done = true
	tok, err := c.dec.Token()
	if err != nil || tok != json.Delim(']') {
		return c.syntax(at, err, "want ',' or ']' after array element")
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return c.syntax(at, err, "data after the closing ']'")
	}
	return rawRecord{at: at}, io.EOF
}

// syntax reports a fatal error at the line where the decoder found it.
func (c *arrayContainer) syntax(at loc, err error, what string) (rawRecord, error) {
	c.done = true
	var se *json.SyntaxError
	switch {
	case err == nil:
		err = errors.New(what)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		at.line = c.lines.lineAt(math.MaxInt64)
		err = errors.New("truncated file: unexpected end inside the JSON array")
	case errors.As(err, &se):
		at.line = c.lines.lineAt(se.Offset)
		err = fmt.Errorf("bad JSON: %v", se)
	default:
		err = fmt.Errorf("read: %w", err)
	}
	return rawRecord{at: at}, fatalError{err}
}

// lineTracker maps byte offsets of the stream it passes through to line
// numbers. It keeps only the bytes the decoder has read ahead; lineAt must
// be asked about non-decreasing offsets (smaller ones answer approximately).
type lineTracker struct {
	r      io.Reader
	window []byte // bytes [base, base+len(window)) of the stream
	base   int64
	line   int // line number at offset base
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.window = append(t.window, p[:n]...)
	return n, err
}

func (t *lineTracker) lineAt(off int64) int {
	if off <= t.base {
		return t.line
	}
	k := int(min(off-t.base, int64(len(t.window))))
	t.line += bytes.Count(t.window[:k], []byte("\n"))
	t.base += int64(k)
	t.window = append(t.window[:0], t.window[k:]...)
	return t.line
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
