package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// BPE is a byte-level BPE tokenizer (GPT-2, Qwen2, Llama 3 and those Train
// makes): text is cut at added tokens, then by a split pattern, each piece's
// bytes are mapped to ids of single-byte tokens and merged by rank.
type BPE struct {
	spell    []string       // id → vocabulary spelling (byte-level alphabet), "" for gaps
	raw      []string       // id → the bytes it decodes to
	rawVocab map[string]int // raw bytes → id of the model (non-added) token
	byteIDs  [256]int
	merges   map[uint64]mergeRule // pair of ids → rule
	rules    [][2]int             // merges in rank order (for Save)

	added      []AddedToken   // sorted by id
	addedIndex map[string]int // content → id
	addedFirst [256][]int     // first byte of content → indices into added, longest first
	special    map[int]bool   // ids of special added tokens
	split      SplitStyle     // pre-tokenizer pattern
	prefix     bool           // ByteLevel add_prefix_space
	ignore     bool           // model.ignore_merges: whole pieces found in vocab skip merging
	nfc        bool           // NFC normalizer
	bos, eos   int

	cache pieceCache // piece → merged ids, for pieces seen before
}

// pieceCache maps pieces to their merged ids, sharded so that goroutines
// encoding at once rarely share a lock. A plain map under RWMutex cut the
// cache's share of Encode's profile by about two thirds against sync.Map.
type pieceCache struct {
	shards [cacheShards]struct {
		mu sync.RWMutex
		m  map[string][]int
	}
}

const cacheShards = 32

func shardOf(piece string) int {
	h := uint32(len(piece)) * 2654435761
	h ^= uint32(piece[0]) | uint32(piece[len(piece)-1])<<8 | uint32(piece[len(piece)/2])<<16
	return int((h * 2246822519) >> 27) // top 5 bits: 32 shards
}

func (c *pieceCache) get(piece string) ([]int, bool) {
	s := &c.shards[shardOf(piece)]
	s.mu.RLock()
	v, ok := s.m[piece]
	s.mu.RUnlock()
	return v, ok
}

func (c *pieceCache) put(piece string, ids []int) {
	s := &c.shards[shardOf(piece)]
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string][]int)
	}
	if len(s.m) < cacheMax/cacheShards {
		// Clone the key: piece points into the caller's text, which the
		// cache must not keep alive.
		s.m[strings.Clone(piece)] = slices.Clone(ids)
	}
	s.mu.Unlock()
}

// cacheMax bounds the piece cache (pieces repeat: a few tens of thousands of
// distinct words cover most text); cacheMaxPiece skips long odd pieces.
const (
	cacheMax      = 1 << 17
	cacheMaxPiece = 64
)

// mergeRule is one merge: its rank (lower merges first) and the id made.
type mergeRule struct {
	rank int32
	id   int32
}

// AddedToken is a token matched in text before the split pattern runs, as in
// tokenizer.json's added_tokens. Special tokens are control tokens (BOS,
// chat markers); others are ordinary words kept whole, such as protocol tags.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// VocabSize implements Tokenizer: one past the largest id.
func (t *BPE) VocabSize() int { return len(t.raw) }

// BOS implements Tokenizer.
func (t *BPE) BOS() int { return t.bos }

// EOS implements Tokenizer.
func (t *BPE) EOS() int { return t.eos }

// Split returns the pre-tokenizer split style.
func (t *BPE) Split() SplitStyle { return t.split }

// AddedTokens returns a copy of the added tokens, by id.
func (t *BPE) AddedTokens() []AddedToken { return slices.Clone(t.added) }

// IsSpecial reports whether id is a special (control) token.
func (t *BPE) IsSpecial(id int) bool { return t.special[id] }

// TokenID implements Tokenizer: an added token's content, or a vocabulary
// spelling (such as "Ġthe").
func (t *BPE) TokenID(s string) (int, bool) {
	if id, ok := t.addedIndex[s]; ok {
		return id, true
	}
	for id, sp := range t.spell {
		if sp == s && sp != "" {
			return id, true
		}
	}
	return 0, false
}

// DecodeToken implements Tokenizer.
func (t *BPE) DecodeToken(id int) string {
	if id < 0 || id >= len(t.raw) {
		return ""
	}
	return t.raw[id]
}

// Decode implements Tokenizer. Ids out of range decode to nothing. Bytes are
// returned as they are (Hugging Face would replace invalid UTF-8 by U+FFFD),
// so Decode(Encode(s)) == s for every s when there is no normalizer.
func (t *BPE) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(t.DecodeToken(id))
	}
	return b.String()
}

// Encode implements Tokenizer.
func (t *BPE) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	t.splitAdded(text, func(seg string, id int) {
		if id >= 0 {
			ids = append(ids, id)
		} else {
			ids = t.appendOrdinary(ids, seg)
		}
	})
	return ids
}

// EncodeOrdinary tokenizes text without matching added or special tokens,
// so that untrusted text (retrieved pages, tool output) that spells
// "<|im_end|>" cannot produce a control token.
func (t *BPE) EncodeOrdinary(text string) []int {
	return t.appendOrdinary(nil, text)
}

func (t *BPE) appendOrdinary(ids []int, text string) []int {
	if text == "" {
		return ids
	}
	if t.nfc {
		text = norm.NFC.String(text)
	}
	if t.prefix && text[0] != ' ' {
		text = " " + text
	}
	var sym []int
	t.split.Split(text, func(piece string) {
		if t.ignore {
			if id, ok := t.rawVocab[piece]; ok {
				ids = append(ids, id)
				return
			}
		}
		if len(piece) == 1 {
			ids = append(ids, t.byteIDs[piece[0]])
			return
		}
		if v, ok := t.cache.get(piece); ok {
			ids = append(ids, v...)
			return
		}
		sym = sym[:0]
		for i := 0; i < len(piece); i++ {
			sym = append(sym, t.byteIDs[piece[i]])
		}
		if len(sym) <= naiveMergeMax {
			sym = t.mergeNaive(sym)
		} else {
			sym = t.mergeHeap(sym)
		}
		ids = append(ids, sym...)
		if len(piece) <= cacheMaxPiece {
			t.cache.put(piece, sym)
		}
	})
	return ids
}

// splitAdded walks text, yielding ordinary segments with id -1 and added
// tokens with their id: at each position the longest added token that
// starts there wins (leftmost-longest, as tokenizers' Aho-Corasick does).
func (t *BPE) splitAdded(text string, yield func(seg string, id int)) {
	if len(t.added) == 0 {
		yield(text, -1)
		return
	}
	start := 0
	for i := 0; i < len(text); {
		a, ok := t.matchAdded(text, i)
		if !ok {
			i++
			continue
		}
		l, r := i, i+len(a.Content)
		if a.LStrip {
			for l > start {
				c, w := utf8.DecodeLastRuneInString(text[start:l])
				if !unicode.IsSpace(c) {
					break
				}
				l -= w
			}
		}
		if a.RStrip {
			for r < len(text) {
				c, w := utf8.DecodeRuneInString(text[r:])
				if !unicode.IsSpace(c) {
					break
				}
				r += w
			}
		}
		if l > start {
			yield(text[start:l], -1)
		}
		yield("", a.ID)
		start, i = r, r
	}
	if start < len(text) {
		yield(text[start:], -1)
	}
}

func (t *BPE) matchAdded(text string, i int) (AddedToken, bool) {
	for _, k := range t.addedFirst[text[i]] {
		a := t.added[k]
		if !strings.HasPrefix(text[i:], a.Content) {
			continue
		}
		if a.SingleWord && (isWordBefore(text, i) || isWordAfter(text, i+len(a.Content))) {
			continue
		}
		return a, true
	}
	return AddedToken{}, false
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isWordBefore(text string, i int) bool {
	r, w := utf8.DecodeLastRuneInString(text[:i])
	return w > 0 && isWordRune(r)
}

func isWordAfter(text string, i int) bool {
	r, w := utf8.DecodeRuneInString(text[i:])
	return w > 0 && isWordRune(r)
}

// naiveMergeMax is the piece length up to which rescanning all pairs per
// merge beats keeping a heap; nearly all pieces are words this short.
const naiveMergeMax = 48

// mergeNaive merges the lowest-ranked adjacent pair, leftmost on ties, until
// none is left: the reference algorithm, and the fast one for short pieces.
func (t *BPE) mergeNaive(sym []int) []int {
	// rules[i] is the rule for pair (sym[i], sym[i+1]); only the two pairs
	// beside a merge change, so each step costs one scan and two lookups.
	var buf [naiveMergeMax]mergeRule
	rules := buf[:0]
	for i := 0; i+1 < len(sym); i++ {
		rules = append(rules, t.rule(sym[i], sym[i+1]))
	}
	for len(sym) > 1 {
		best := -1
		for i, r := range rules {
			if r.id >= 0 && (best < 0 || r.rank < rules[best].rank) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		sym[best] = int(rules[best].id)
		sym = append(sym[:best+1], sym[best+2:]...)
		rules = append(rules[:best], rules[best+1:]...)
		if best > 0 {
			rules[best-1] = t.rule(sym[best-1], sym[best])
		}
		if best < len(rules) {
			rules[best] = t.rule(sym[best], sym[best+1])
		}
	}
	return sym
}

// rule returns the merge of a and b, with id -1 when there is none.
func (t *BPE) rule(a, b int) mergeRule {
	if r, ok := t.merges[pairKey(a, b)]; ok {
		return r
	}
	return mergeRule{id: -1}
}

// mergeHeap gives mergeNaive's result in O(n log n) for long pieces (a run
// of thousands of punctuation characters would otherwise be quadratic).
func (t *BPE) mergeHeap(sym []int) []int {
	n := len(sym)
	next, prev := make([]int, n), make([]int, n)
	for i := range sym {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	alive := make([]bool, n)
	h := &typedHeap[rankCand]{less: rankCand.before}
	push := func(l int) {
		if l < 0 || next[l] < 0 {
			return
		}
		r := next[l]
		if m, ok := t.merges[pairKey(sym[l], sym[r])]; ok {
			h.Push(rankCand{rank: m.rank, pos: l, left: sym[l], right: sym[r], id: int(m.id)})
		}
	}
	for i := range sym {
		alive[i] = true
		push(i)
	}
	for h.Len() > 0 {
		c := h.Pop()
		l := c.pos
		r := next[l]
		if !alive[l] || r < 0 || sym[l] != c.left || sym[r] != c.right {
			continue
		}
		sym[l] = c.id
		alive[r] = false
		next[l] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = l
		}
		push(prev[l])
		push(l)
	}
	out := sym[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, sym[i])
	}
	return out
}

type rankCand struct {
	rank        int32
	pos         int
	left, right int
	id          int
}

// before orders candidates: lowest rank first, then leftmost.
func (a rankCand) before(b rankCand) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// byteToRune is GPT-2's bytes_to_unicode: printable Latin-1 bytes map to
// themselves, the others to U+0100 upwards, so every byte is a visible
// character in vocabulary spellings (space is "Ġ", newline "Ċ").
func byteToRune() [256]rune {
	var m [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

// spellBytes writes raw bytes in the byte-level alphabet.
func spellBytes(m *[256]rune, raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		b.WriteRune(m[raw[i]])
	}
	return b.String()
}

// unspell maps a vocabulary spelling back to bytes; ok is false when a rune
// is outside the byte-level alphabet (then the spelling is its own bytes, as
// tokenizers' ByteLevel decoder does).
func unspell(inv map[rune]byte, s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, ok := inv[r]
		if !ok {
			return s, false
		}
		b = append(b, c)
	}
	return string(b), true
}
