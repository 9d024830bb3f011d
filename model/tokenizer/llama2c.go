package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Llama2c is the tokenizer of karpathy's llama2.c (run.c): a SentencePiece
// vocabulary with a score per piece, merged greedily by score, with "<0xXX>"
// byte fallback tokens, BOS 1 and EOS 2.
type Llama2c struct {
	pieces   []string
	scores   []float32
	lookup   map[string]int // piece → lowest id spelling it
	byteIDs  [256]int       // id of the "<0xXX>" token per byte, -1 if none
	maxLen   int            // max_token_length from the header
	spaceID  int            // id of " " (run.c's dummy prefix), -1 if none
	isByteID map[int]byte   // "<0xXX>" token id → its byte
}

// llama2cMaxTokenLength bounds max_token_length so that a corrupt header
// cannot make us trust absurd piece lengths.
const llama2cMaxTokenLength = 1 << 16

// ParseLlama2c reads a llama2.c tokenizer.bin: int32 max_token_length, then
// per token a float32 score, an int32 length and that many bytes, all little
// endian. vocabSize > 0 demands exactly that many tokens (run.c takes it
// from the model's header); 0 reads tokens until the data ends. name is used
// in errors only.
func ParseLlama2c(name string, data []byte, vocabSize int) (*Llama2c, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("llama2.c tokenizer %s: %d bytes, need at least the 4-byte max_token_length header", name, len(data))
	}
	maxLen := int(int32(binary.LittleEndian.Uint32(data)))
	if maxLen <= 0 || maxLen > llama2cMaxTokenLength {
		return nil, fmt.Errorf("llama2.c tokenizer %s: offset 0: max_token_length %d out of range 1..%d", name, maxLen, llama2cMaxTokenLength)
	}
	t := &Llama2c{maxLen: maxLen, lookup: make(map[string]int), isByteID: make(map[int]byte)}
	off := 4
	for i := 0; vocabSize <= 0 || i < vocabSize; i++ {
		if vocabSize <= 0 && off == len(data) {
			break
		}
		if len(data)-off < 8 {
			return nil, fmt.Errorf("llama2.c tokenizer %s: offset %d: token %d: truncated score/length (%d bytes left)", name, off, i, len(data)-off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int(int32(binary.LittleEndian.Uint32(data[off+4:])))
		if n < 0 || n > maxLen {
			return nil, fmt.Errorf("llama2.c tokenizer %s: offset %d: token %d: length %d out of range 0..max_token_length %d", name, off+4, i, n, maxLen)
		}
		off += 8
		if len(data)-off < n {
			return nil, fmt.Errorf("llama2.c tokenizer %s: offset %d: token %d: truncated piece (%d of %d bytes)", name, off, i, len(data)-off, n)
		}
		t.pieces = append(t.pieces, string(data[off:off+n]))
		t.scores = append(t.scores, score)
		off += n
	}
	if off != len(data) {
		return nil, fmt.Errorf("llama2.c tokenizer %s: offset %d: %d trailing bytes after %d tokens (wrong vocab size?)", name, off, len(data)-off, len(t.pieces))
	}
	if len(t.pieces) == 0 {
		return nil, fmt.Errorf("llama2.c tokenizer %s: no tokens", name)
	}
	t.index()
	return t, nil
}

func (t *Llama2c) index() {
	for i := len(t.pieces) - 1; i >= 0; i-- {
		t.lookup[t.pieces[i]] = i // descending, so duplicates keep the lowest id
	}
	for b := range t.byteIDs {
		t.byteIDs[b] = -1
	}
	for i, p := range t.pieces {
		if b, ok := parseByteToken(p); ok {
			t.isByteID[i] = b
			if t.byteIDs[b] < 0 {
				t.byteIDs[b] = i
			}
		}
	}
	t.spaceID = -1
	if id, ok := t.lookup[" "]; ok {
		t.spaceID = id
	}
}

// parseByteToken recognises SentencePiece byte tokens "<0xXX>" (hex digits
// in either case, as run.c's sscanf("<0x%02hhX>") accepts).
func parseByteToken(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(p[3])
	lo, ok2 := hexVal(p[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VocabSize implements Tokenizer.
func (t *Llama2c) VocabSize() int { return len(t.pieces) }

// BOS implements Tokenizer: id 1, as in run.c.
func (t *Llama2c) BOS() int { return t.fixedID(1) }

// EOS implements Tokenizer: id 2, as in run.c.
func (t *Llama2c) EOS() int { return t.fixedID(2) }

func (t *Llama2c) fixedID(id int) int {
	if id < len(t.pieces) {
		return id
	}
	return -1
}

// IsSpecial reports whether id is <unk>, BOS or EOS (ids 0, 1, 2).
func (t *Llama2c) IsSpecial(id int) bool { return id >= 0 && id <= 2 && id < len(t.pieces) }

// Score returns the merge score of a piece (higher merges first).
func (t *Llama2c) Score(id int) float32 { return t.scores[id] }

// TokenID implements Tokenizer: "<unk>", "<s>" and "</s>" name ids 0, 1 and
// 2 (their pieces in llama2.c files are wrapped in newlines); any other
// string must be a piece of the vocabulary.
func (t *Llama2c) TokenID(s string) (int, bool) {
	fixed := -1
	switch s {
	case "<unk>":
		fixed = 0
	case "<s>":
		fixed = 1
	case "</s>":
		fixed = 2
	}
	if fixed >= 0 && fixed < len(t.pieces) {
		return fixed, true
	}
	id, ok := t.lookup[s]
	return id, ok
}

// DecodeToken implements Tokenizer: the piece, with byte tokens as the byte.
func (t *Llama2c) DecodeToken(id int) string { return t.decodeNext(-1, id) }

// decodeNext is run.c's decode(): after BOS a leading space is dropped, and
// "<0xXX>" pieces become the raw byte.
func (t *Llama2c) decodeNext(prev, id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	if b, ok := t.isByteID[id]; ok {
		return string([]byte{b})
	}
	p := t.pieces[id]
	if prev == 1 && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	return p
}

// Decode implements Tokenizer, decoding each id after the one before it as
// run.c's generation loop does (so "<s> Hello" decodes to "\n<s>\nHello").
func (t *Llama2c) Decode(ids []int) string {
	var b []byte
	prev := -1
	for _, id := range ids {
		b = append(b, t.decodeNext(prev, id)...)
		prev = id
	}
	return string(b)
}

// Encode implements Tokenizer with run.c's encode(text, bos=0, eos=0): a
// dummy-prefix " " token when text is not empty, one token per UTF-8
// character (or its byte tokens when the character is not a piece), then
// repeated merging of the adjacent pair whose concatenation is the piece
// with the highest score, leftmost on ties. Unlike C, a NUL byte does not
// end the text; it is encoded as its byte token.
func (t *Llama2c) Encode(text string) []int {
	if text == "" {
		return nil
	}
	ids := make([]int, 0, len(text)+1)
	if t.spaceID >= 0 {
		ids = append(ids, t.spaceID)
	} else {
		ids = t.appendBytes(ids, " ")
	}
	for i := 0; i < len(text); {
		// A character is a lead byte plus its continuation bytes, at most 4
		// bytes, exactly as run.c groups them (even for invalid UTF-8).
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.lookup[text[i:j]]; ok {
			ids = append(ids, id)
		} else {
			ids = t.appendBytes(ids, text[i:j])
		}
		i = j
	}
	return t.merge(ids)
}

// appendBytes appends byte fallback ids; run.c uses byte+3, which is where
// "<0xXX>" sits in every llama2.c vocabulary, and we prefer the id actually
// spelled "<0xXX>". Without either the byte is <unk> (0).
func (t *Llama2c) appendBytes(ids []int, s string) []int {
	for i := 0; i < len(s); i++ {
		id := t.byteIDs[s[i]]
		if id < 0 {
			id = int(s[i]) + 3
			if id >= len(t.pieces) {
				id = 0
			}
		}
		ids = append(ids, id)
	}
	return ids
}

// mergeScoreFloor is run.c's initial best_score: pairs scoring at or below
// it (or NaN) never merge.
const mergeScoreFloor = -1e10

// merge applies run.c's merge loop with a heap instead of rescanning every
// pair per merge (O(n log n) instead of O(n²)). Nodes keep their original
// order, so "leftmost on ties" is "smallest left position".
func (t *Llama2c) merge(ids []int) []int {
	n := len(ids)
	if n < 2 {
		return ids
	}
	next := make([]int, n)
	prev := make([]int, n)
	for i := range ids {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	h := &typedHeap[pairCand]{less: pairCand.before}
	var buf []byte
	push := func(l int) {
		if l < 0 || next[l] < 0 {
			return
		}
		r := next[l]
		buf = append(append(buf[:0], t.pieces[ids[l]]...), t.pieces[ids[r]]...)
		id, ok := t.lookup[string(buf)] // no allocation for the key
		if !ok || !(t.scores[id] > mergeScoreFloor) {
			return
		}
		h.Push(pairCand{score: t.scores[id], pos: l, left: ids[l], right: ids[r], id: id})
	}
	for i := 0; i < n-1; i++ {
		push(i)
	}
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	for h.Len() > 0 {
		c := h.Pop()
		l := c.pos
		r := next[l]
		if !alive[l] || r < 0 || ids[l] != c.left || ids[r] != c.right {
			continue // stale: one side was merged away since
		}
		ids[l] = c.id
		alive[r] = false
		next[l] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = l
		}
		if prev[l] >= 0 {
			push(prev[l])
		}
		push(l)
	}
	out := ids[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

type pairCand struct {
	score       float32
	pos         int
	left, right int
	id          int
}

// before orders candidates: higher score first, then leftmost.
func (a pairCand) before(b pairCand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.pos < b.pos
}
