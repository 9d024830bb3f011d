// Package parquetguard checks a Parquet file's framing, footer and page
// headers against the bytes really there before parquet-go decodes it.
// The library trusts sizes it reads from the file: it allocates the footer
// length, every thrift list length and every page size before checking
// them, so a corrupt file of a few kilobytes can cost gigabytes (fuzzing
// found 18 GB). Both Parquet readers of outside input (corpora, question
// files) call CheckFooter before opening and CheckPages before reading.
package parquetguard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// maxPageBytes bounds one page's uncompressed size.
const maxPageBytes = 256 << 20

// CheckFooter checks the framing and the footer's thrift structure before
// the library decodes it.
func CheckFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes is too short for a parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(tail[4:]) != "PAR1" {
		return errors.New("no PAR1 magic at the end; not a parquet file")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 {
		return fmt.Errorf("footer of %d bytes in a file of %d", n, size)
	}
	footer := make([]byte, n)
	if _, err := r.ReadAt(footer, size-8-n); err != nil {
		return err
	}
	c := compact{b: footer}
	if err := c.skipStruct(0, nil); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	return nil
}

// CheckPages walks the page headers of every column chunk and refuses a
// page that overruns its chunk or claims more than maxPageBytes.
func CheckPages(r io.ReaderAt, size int64, pf *parquet.File) error {
	for gi, rg := range pf.Metadata().RowGroups {
		for ci, cc := range rg.Columns {
			md := cc.MetaData
			start := md.DataPageOffset
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
				start = md.DictionaryPageOffset
			}
			end := start + md.TotalCompressedSize
			if start < 4 || md.TotalCompressedSize < 0 || end > size || end < start {
				return fmt.Errorf("row group %d column %d: chunk [%d,%d) outside the file", gi, ci, start, end)
			}
			buf := make([]byte, end-start)
			if _, err := r.ReadAt(buf, start); err != nil {
				return fmt.Errorf("row group %d column %d: %w", gi, ci, err)
			}
			if err := checkChunk(buf); err != nil {
				return fmt.Errorf("row group %d column %d: %w", gi, ci, err)
			}
		}
	}
	return nil
}

// checkChunk walks the pages of one column chunk.
func checkChunk(b []byte) error {
	for pos := 0; pos < len(b); {
		c := compact{b: b[pos:]}
		var sizes [4]int64 // fields 2 and 3: uncompressed and compressed size
		if err := c.skipStruct(0, func(id int16, v int64) {
			if id == 2 || id == 3 {
				sizes[id] = v
			}
		}); err != nil {
			return fmt.Errorf("page header at %d: %w", pos, err)
		}
		un, comp := sizes[2], sizes[3]
		if comp < 0 || un < 0 || un > maxPageBytes || int64(c.pos)+comp > int64(len(b)-pos) {
			return fmt.Errorf("page at %d: sizes %d/%d do not fit the chunk", pos, comp, un)
		}
		pos += c.pos + int(comp)
	}
	return nil
}

// compact walks thrift compact-protocol data without building it, checking
// every length against the bytes left.
type compact struct {
	b   []byte
	pos int
}

var errShort = errors.New("truncated thrift data")

func (c *compact) byte1() (byte, error) {
	if c.pos >= len(c.b) {
		return 0, errShort
	}
	c.pos++
	return c.b[c.pos-1], nil
}

func (c *compact) uvarint() (uint64, error) {
	v, n := binary.Uvarint(c.b[c.pos:])
	if n <= 0 {
		return 0, errShort
	}
	c.pos += n
	return v, nil
}

func (c *compact) need(n uint64) error {
	if n > uint64(len(c.b)-c.pos) {
		return fmt.Errorf("length %d exceeds the %d bytes left", n, len(c.b)-c.pos)
	}
	return nil
}

// skipStruct skips one struct; top, when set, sees the integer fields of
// this struct (not nested ones) by id.
func (c *compact) skipStruct(depth int, top func(id int16, v int64)) error {
	if depth > 32 {
		return errors.New("thrift nesting too deep")
	}
	var id int16
	for {
		h, err := c.byte1()
		if err != nil {
			return err
		}
		typ := h & 0x0f
		if typ == 0 {
			return nil
		}
		if d := h >> 4; d != 0 {
			id += int16(d)
		} else {
			u, err := c.uvarint()
			if err != nil {
				return err
			}
			id = int16(int64(u>>1) ^ -int64(u&1))
		}
		if typ >= 4 && typ <= 6 && top != nil {
			u, err := c.uvarint()
			if err != nil {
				return err
			}
			top(id, int64(u>>1)^-int64(u&1))
			continue
		}
		if err := c.skip(typ, depth, false); err != nil {
			return err
		}
	}
}

// skip skips one value of a thrift compact type; inList marks list
// elements, where booleans take a byte.
func (c *compact) skip(typ byte, depth int, inList bool) error {
	switch typ {
	case 1, 2: // booleans: in the field header, or a byte in a list
		if inList {
			_, err := c.byte1()
			return err
		}
		return nil
	case 3:
		_, err := c.byte1()
		return err
	case 4, 5, 6:
		_, err := c.uvarint()
		return err
	case 7:
		if err := c.need(8); err != nil {
			return err
		}
		c.pos += 8
		return nil
	case 8:
		n, err := c.uvarint()
		if err == nil {
			err = c.need(n)
		}
		if err == nil {
			c.pos += int(n)
		}
		return err
	case 9, 10:
		h, err := c.byte1()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = c.uvarint(); err != nil {
				return err
			}
		}
		// Every element takes at least one byte.
		if err := c.need(n); err != nil {
			return err
		}
		for range n {
			if err := c.skip(h&0x0f, depth+1, true); err != nil {
				return err
			}
		}
		return nil
	case 11:
		n, err := c.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := c.byte1()
		if err == nil {
			err = c.need(n)
		}
		for i := uint64(0); err == nil && i < n; i++ {
			if err = c.skip(kv>>4, depth+1, true); err == nil {
				err = c.skip(kv&0x0f, depth+1, true)
			}
		}
		return err
	case 12:
		return c.skipStruct(depth+1, nil)
	}
	return fmt.Errorf("unknown thrift type %d", typ)
}
