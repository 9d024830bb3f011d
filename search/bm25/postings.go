package bm25

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// blockSize is the number of postings per block: the unit of bit-packing,
// skipping and block-max bounds.
const blockSize = 128

// endDoc marks an exhausted cursor; it sorts after every real doc.
const endDoc = math.MaxUint32

// A term's postings are laid out as
//
//	lastDoc [nb]uint32   last doc id of each block
//	blockMax [nb]float32 largest term score in each block (qtf 1)
//	blockEnd [nb]uint32  end offset of each block's bytes after this header
//	champs u32, tail f32 champion list length and the bound outside it
//	denseBits u32, hiDF u32, hiCut f32, hiLen u32
//	champDoc [champs]uint32, champW [champs]float32 heaviest first (weights as scorer.weight gives them)
//	dense                tf of every doc, for frequent terms: denseBits (0, 4 or
//	                     8) bits each, low nibble first, the largest value meaning
//	                     "this or more: look in the blocks"; denseLen bytes
//	hi layer, when hiDF > 0: lastDoc, blockMax and blockEnd of its
//	                     ceil(hiDF/128) blocks, then hiLen bytes of blocks
//	                     (a multiple of 4) laid out like the main ones
//	blocks...            per block: docBits u8, tfBits u8, then the doc
//	                     deltas and tf-1 values, each bit-packed into whole
//	                     little-endian uint64 words.
//
// Doc deltas are doc - previous doc - 1 (the previous doc of a term's first
// block is -1), so they are never negative.

// packedLen is the byte length of n values of width w in uint64 words.
func packedLen(n, w int) int { return (n*w + 63) / 64 * 8 }

// pack appends vals bit-packed at width w.
func pack(dst []byte, vals []uint32, w int) []byte {
	if w == 0 {
		return dst
	}
	var acc uint64
	var used int
	for _, v := range vals {
		acc |= uint64(v) << used
		used += w
		if used >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			used -= 64
			acc = 0
			if used > 0 {
				acc = uint64(v) >> (w - used)
			}
		}
	}
	if used > 0 {
		dst = binary.LittleEndian.AppendUint64(dst, acc)
	}
	return dst
}

// unpack fills dst with values of width w from src, which must hold
// packedLen(len(dst), w) bytes. It reads one uint64 word at a time and
// shifts the values out of it (a value may straddle two words).
func unpack(dst []uint32, src []byte, w int) {
	if w == 0 {
		clear(dst)
		return
	}
	mask := uint64(1)<<w - 1
	i := 0
	var carry uint64 // the low bits of a value begun in the previous word
	have := 0        // bits left in carry
	for wi := 0; wi+8 <= len(src) && i < len(dst); wi += 8 {
		x := binary.LittleEndian.Uint64(src[wi:])
		left := 64
		if have > 0 {
			dst[i] = uint32((carry | x<<have) & mask)
			i++
			x >>= w - have
			left -= w - have
		}
		for left >= w && i < len(dst) {
			dst[i] = uint32(x & mask)
			i++
			x >>= w
			left -= w
		}
		carry, have = x, left
	}
}

func width(max uint32) int { return bits.Len32(max) }

// encodeBlock appends one block of docs (ascending) and tfs (>= 1).
func encodeBlock(dst []byte, prev int64, docs, tfs []uint32, scratch []uint32) []byte {
	var maxD, maxT uint32
	scratch = scratch[:len(docs)]
	for i, d := range docs {
		delta := uint32(int64(d) - prev - 1)
		prev = int64(d)
		scratch[i] = delta
		maxD |= delta
		maxT |= tfs[i] - 1
	}
	wd, wt := width(maxD), width(maxT)
	dst = append(dst, byte(wd), byte(wt))
	dst = pack(dst, scratch, wd)
	for i, t := range tfs {
		scratch[i] = t - 1
	}
	return pack(dst, scratch, wt)
}

// champSize is the length of a frequent term's champion list: its
// highest-weight postings, whose heaviest seed maxScore's threshold (see
// searcher.seed).
const champSize = 128

// postingList is one doc-ordered list of bit-packed blocks with its skip
// data: a term's full postings, or its high layer.
type postingList struct {
	df       int
	lastDoc  []uint32
	blockMax []float32
	blockEnd []uint32
	data     []byte
}

// termPostings is a view of one term's postings inside the mapped file.
type termPostings struct {
	postingList
	// champDoc/champW list the champions, heaviest first (ties by lower
	// doc); every other posting weighs at most tail. Terms with at most
	// 2*champSize postings have none: their whole list is cheap to read.
	champDoc []uint32
	champW   []float32
	tail     float32
	// dense, for terms in at least 1/denseFrac of the passages, holds
	// every passage's tf, so probing such a term for one doc is one load.
	dense denseTF
	// hi, for terms with at least hiMin postings, is the high layer: the
	// postings weighing more than hiCut (about 1/hiFrac of them), in doc
	// order. Every other posting weighs at most hiCut, so maxScore can walk
	// hi alone and treat the rest as a term with the small bound hiCut.
	hi    postingList
	hiCut float32
}

// denseTF holds the tf of every passage for one frequent term in 4 or 8
// bits: 4 (two passages a byte, low nibble first) unless that would cap
// more than 1/denseEsc of its postings. 0 means absent; the largest value
// (mask) means "that or more: look in the blocks".
type denseTF struct {
	b     []byte // nil when the term has none
	shift uint32 // 1 for 4 bits, 0 for 8
	mask  uint32 // 15 or 255
}

// get returns the stored tf of doc (mask meaning "mask or more").
func (t *denseTF) get(doc uint32) uint32 {
	return uint32(t.b[doc>>t.shift]) >> ((doc & t.shift) << 2) & t.mask
}

func newDenseTF(b []byte, bits int) denseTF {
	if bits == 4 {
		return denseTF{b: b, shift: 1, mask: 15}
	}
	return denseTF{b: b, mask: 255}
}

// denseLen is the byte length of a dense tf array of n passages at bits
// per passage, padded to a multiple of 4.
func denseLen(n, bits int) int {
	switch bits {
	case 4:
		return ((n+1)/2 + 3) / 4 * 4
	case 8:
		return (n + 3) / 4 * 4
	}
	return 0
}

const (
	denseFrac = 32
	denseEsc  = 64
	denseMin  = 4096
	hiFrac    = 8
	hiMin     = 4096
)

// block holds one decoded block. Decoding checks every doc against the
// block's recorded last doc, so a corrupt file can never yield a doc id
// past the end of the doc-length table.
type block struct {
	n       int
	docs    [blockSize]uint32
	tfs     [blockSize]uint32
	tfsDone bool
	tfSrc   []byte
	tfW     int
}

// decodeDocs decodes block bi of p into b. It reports false when the block's
// bytes are inconsistent with its header.
func (b *block) decodeDocs(p *postingList, bi int) bool {
	start := 0
	if bi > 0 {
		start = int(p.blockEnd[bi-1])
	}
	end := int(p.blockEnd[bi])
	n := blockSize
	if bi == len(p.lastDoc)-1 {
		n = p.df - bi*blockSize
	}
	if start+2 > end || end > len(p.data) || n <= 0 || n > blockSize {
		return false
	}
	src := p.data[start:end]
	wd, wt := int(src[0]), int(src[1])
	ld, lt := packedLen(n, wd), packedLen(n, wt)
	if wd > 32 || wt > 32 || 2+ld+lt != len(src) {
		return false
	}
	unpack(b.docs[:n], src[2:2+ld], wd)
	prev := int64(-1)
	if bi > 0 {
		prev = int64(p.lastDoc[bi-1])
	}
	last := int64(p.lastDoc[bi])
	for i := 0; i < n; i++ {
		prev += int64(b.docs[i]) + 1
		if prev > last {
			return false
		}
		b.docs[i] = uint32(prev)
	}
	if prev != last {
		return false
	}
	b.n = n
	b.tfsDone = false
	b.tfSrc = src[2+ld:]
	b.tfW = wt
	return true
}

// tf returns the term frequency of posting i of the decoded block.
func (b *block) tf(i int) uint32 {
	if !b.tfsDone {
		unpack(b.tfs[:b.n], b.tfSrc, b.tfW)
		b.tfsDone = true
	}
	return b.tfs[i] + 1
}

// allTFs returns the decoded block's tf-1 values.
func (b *block) allTFs() []uint32 {
	if !b.tfsDone {
		unpack(b.tfs[:b.n], b.tfSrc, b.tfW)
		b.tfsDone = true
	}
	return b.tfs[:b.n]
}
