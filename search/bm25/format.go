package bm25

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unsafe"
)

// The index file of a generation ("index.bin") is
//
//	magic "SLEUTHBM" | version u32 | section count u32
//	section table: count x {kind u32, flags u32, offset u64, length u64, crc32c u32, pad u32}
//	crc32c of everything above (u32), pad u32
//	sections, each starting at a multiple of 8 bytes
//
// All integers are little-endian. Every section is checksummed except the
// passage store, whose zstd frames carry their own checksums, so opening
// stays cheap for large corpora.
const (
	fileMagic     = "SLEUTHBM"
	formatVersion = 3
	indexFile     = "index.bin"
	sectionEntry  = 32
)

// Section kinds, in file order.
const (
	secMeta      = iota + 1 // JSON meta
	secTermOff              // uint32[terms+1] offsets into secTermBlob
	secTermBlob             // sorted term bytes
	secTermInfo             // termInfo[terms]
	secPostings             // every term's postings
	secDocLen               // uint32[N] tokens per passage
	secIDOff                // uint32[N+1] offsets into secIDBlob
	secIDBlob               // passage ids
	secStoreOff             // uint64[blocks+1] offsets into secStoreBlob
	secStoreBlob            // zstd frames of passages
	numSections  = secStoreBlob
)

var sectionNames = [...]string{"", "meta", "term offsets", "term bytes", "term info", "postings",
	"doc lengths", "id offsets", "id bytes", "store offsets", "store"}

// termInfo is the fixed-size dictionary record of one term (24 bytes).
type termInfo struct {
	DF       uint32
	Blocks   uint32
	Offset   uint64 // byte offset of the term's postings in secPostings
	MaxScore float32
	IDF      float32
}

const termInfoSize = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileWriter writes sections one after another, then the header.
type fileWriter struct {
	w    io.WriterAt
	off  int64 // logical end, including buf
	secs [numSections + 1]struct {
		off, n int64
		crc    uint32
	}
	buf []byte // pending bytes, which start at off-len(buf)
}

// flush writes the pending bytes: small writes (a store frame each) are
// batched into large ones.
func (fw *fileWriter) flush() error {
	if len(fw.buf) == 0 {
		return nil
	}
	_, err := fw.w.WriteAt(fw.buf, fw.off-int64(len(fw.buf)))
	fw.buf = fw.buf[:0]
	return err
}

func headerLen() int64 { return int64(8 + 8 + numSections*sectionEntry + 8) }

func newFileWriter(w io.WriterAt) *fileWriter { return &fileWriter{w: w, off: headerLen()} }

// section writes one whole section from the given chunks.
func (fw *fileWriter) section(kind int, chunks ...[]byte) error {
	if err := fw.start(kind); err != nil {
		return err
	}
	for _, c := range chunks {
		if err := fw.write(kind, c); err != nil {
			return err
		}
	}
	return nil
}

// start opens section kind at the next 8-byte boundary; write appends to it.
func (fw *fileWriter) start(kind int) error {
	if pad := (8 - fw.off%8) % 8; pad != 0 {
		fw.buf = append(fw.buf, make([]byte, pad)...)
		fw.off += pad
	}
	fw.secs[kind].off = fw.off
	return nil
}

func (fw *fileWriter) write(kind int, c []byte) error {
	s := &fw.secs[kind]
	if kind != secStoreBlob {
		s.crc = crc32.Update(s.crc, castagnoli, c)
	}
	s.n += int64(len(c))
	if len(c) >= 1<<20 {
		if err := fw.flush(); err != nil {
			return err
		}
		_, err := fw.w.WriteAt(c, fw.off)
		fw.off += int64(len(c))
		return err
	}
	fw.buf = append(fw.buf, c...)
	fw.off += int64(len(c))
	if len(fw.buf) >= 1<<20 {
		return fw.flush()
	}
	return nil
}

func (fw *fileWriter) finish() error {
	if err := fw.flush(); err != nil {
		return err
	}
	h := make([]byte, 0, headerLen())
	h = append(h, fileMagic...)
	h = binary.LittleEndian.AppendUint32(h, formatVersion)
	h = binary.LittleEndian.AppendUint32(h, numSections)
	for k := 1; k <= numSections; k++ {
		s := fw.secs[k]
		h = binary.LittleEndian.AppendUint32(h, uint32(k))
		h = binary.LittleEndian.AppendUint32(h, 0)
		h = binary.LittleEndian.AppendUint64(h, uint64(s.off))
		h = binary.LittleEndian.AppendUint64(h, uint64(s.n))
		h = binary.LittleEndian.AppendUint32(h, s.crc)
		h = binary.LittleEndian.AppendUint32(h, 0)
	}
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	h = binary.LittleEndian.AppendUint32(h, 0)
	_, err := fw.w.WriteAt(h, 0)
	return err
}

// errCorrupt is wrapped by every error about a malformed index file.
var errCorrupt = errors.New("corrupt index")

// parseSections checks the header and returns each section's bytes. With
// verify, every checksummed section is checked.
func parseSections(data []byte, verify bool) ([numSections + 1][]byte, error) {
	var secs [numSections + 1][]byte
	hl := headerLen()
	if int64(len(data)) < hl {
		return secs, fmt.Errorf("%w: file is %d bytes, shorter than its %d-byte header", errCorrupt, len(data), hl)
	}
	if string(data[:8]) != fileMagic {
		return secs, fmt.Errorf("%w: bad magic %q", errCorrupt, data[:8])
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != formatVersion {
		return secs, fmt.Errorf("%w: format version %d, this build reads %d (rebuild the index with sleuth index)", errCorrupt, v, formatVersion)
	}
	if n := binary.LittleEndian.Uint32(data[12:]); n != numSections {
		return secs, fmt.Errorf("%w: %d sections, want %d", errCorrupt, n, numSections)
	}
	if got, want := crc32.Checksum(data[:hl-8], castagnoli), binary.LittleEndian.Uint32(data[hl-8:]); verify && got != want {
		return secs, fmt.Errorf("%w: header checksum mismatch", errCorrupt)
	}
	for k := 1; k <= numSections; k++ {
		e := data[16+(k-1)*sectionEntry:]
		off, n := binary.LittleEndian.Uint64(e[8:]), binary.LittleEndian.Uint64(e[16:])
		if binary.LittleEndian.Uint32(e) != uint32(k) || off%8 != 0 || off < uint64(hl) || off > uint64(len(data)) || n > uint64(len(data))-off {
			return secs, fmt.Errorf("%w: section %s out of bounds", errCorrupt, sectionNames[k])
		}
		secs[k] = data[off : off+n : off+n]
		if verify && k != secStoreBlob {
			if crc32.Checksum(secs[k], castagnoli) != binary.LittleEndian.Uint32(e[24:]) {
				return secs, fmt.Errorf("%w: section %s checksum mismatch", errCorrupt, sectionNames[k])
			}
		}
	}
	return secs, nil
}

// isLittleEndian gates the zero-copy views below.
func isLittleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// u32s views b (8-byte aligned, little-endian) as uint32s.
func u32s(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func f32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func u64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// unsafeBytes views an 8-byte-aligned word buffer as bytes.
func unsafeBytes(w []uint64) []byte {
	if len(w) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 8*len(w))
}

// aligned returns data, copied into an 8-byte-aligned buffer if it is not
// aligned already (only byte slices from outside, as in fuzzing, are not).
func aligned(data []byte) []byte {
	if len(data) == 0 || uintptr(unsafe.Pointer(&data[0]))%8 == 0 {
		return data
	}
	b := unsafeBytes(make([]uint64, (len(data)+7)/8))[:len(data)]
	copy(b, data)
	return b
}
