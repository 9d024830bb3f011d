package tokenizer

import (
	"container/heap"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// TrainOptions configures Train. The zero value trains a plain byte-level
// BPE with the Qwen2 split pattern and no added tokens.
type TrainOptions struct {
	// SpecialTokens are control tokens, given ids 0, 1, … in this order
	// (DefaultSpecialTokens: "<|bos|>", "<|eos|>", "<|pad|>").
	SpecialTokens []string
	// AddedTokens are ordinary tokens always kept whole, numbered after the
	// special ones (ProtocolTags: "<search>", "</search>", …).
	AddedTokens []string
	// Split is the pre-tokenizer pattern; "" means SplitQwen2 (digits one
	// at a time, which helps small models with numbers).
	Split SplitStyle
	// MinFrequency stops training early when the best pair occurs fewer
	// times in the corpus; 0 and 1 both mean "merge anything seen".
	MinFrequency int
}

// DefaultSpecialTokens returns the control tokens of models sleuth trains
// from scratch: BOS, EOS and padding.
func DefaultSpecialTokens() []string { return []string{"<|bos|>", "<|eos|>", "<|pad|>"} }

// ProtocolTags returns the agent protocol tags, which a tokenizer trained
// for research agents should keep as single tokens.
func ProtocolTags() []string {
	return []string{"<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>", "<think>", "</think>"}
}

// Train learns a byte-level BPE tokenizer of vocabSize ids (special and
// added tokens and the 256 single bytes included) from texts. Each step
// merges the most frequent adjacent pair; ties go to the pair whose left
// then right token is lexically (bytewise) smallest, so the result depends
// only on the texts as a multiset of pre-tokens, never on map order.
func Train(texts iter.Seq[string], vocabSize int, opts TrainOptions) (*BPE, error) {
	t, err := newTrainee(vocabSize, opts)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64)
	for text := range texts {
		t.splitAdded(text, func(seg string, id int) {
			if id < 0 {
				t.split.Split(seg, func(p string) { counts[p]++ })
			}
		})
	}
	tr := newTrainer(t, counts)
	for len(t.spell) < vocabSize {
		if !tr.step(int64(max(opts.MinFrequency, 1))) {
			break
		}
	}
	return t, nil
}

// newTrainee makes the starting tokenizer: added tokens, then the bytes.
func newTrainee(vocabSize int, opts TrainOptions) (*BPE, error) {
	split := opts.Split
	if split == "" {
		split = SplitQwen2
	}
	if split.Pattern() == "" {
		return nil, fmt.Errorf("train tokenizer: unknown split style %q", split)
	}
	var added []AddedToken
	seen := map[string]bool{}
	for i, s := range slices.Concat(opts.SpecialTokens, opts.AddedTokens) {
		if s == "" || seen[s] {
			return nil, fmt.Errorf("train tokenizer: added token %q empty or repeated", s)
		}
		seen[s] = true
		added = append(added, AddedToken{ID: i, Content: s, Special: i < len(opts.SpecialTokens)})
	}
	if vocabSize < len(added)+256 {
		return nil, fmt.Errorf("train tokenizer: vocab size %d below the %d added tokens plus 256 bytes", vocabSize, len(added))
	}
	b2r := byteToRune()
	spell := make([]string, len(added), vocabSize)
	for _, a := range added {
		spell[a.ID] = a.Content
	}
	for b := range 256 {
		spell = append(spell, string(b2r[b]))
	}
	t := &BPE{split: split, bos: -1, eos: -1}
	if err := t.init(spell, nil, added); err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	if err := t.setBosEos(nil); err != nil {
		return nil, fmt.Errorf("train tokenizer: %w", err)
	}
	return t, nil
}

// trainer holds the words (unique pre-tokens as symbol ids with counts) and
// the pair statistics, updated incrementally after each merge.
type trainer struct {
	t      *BPE
	b2r    [256]rune
	words  [][]int32
	freq   []int64
	pairs  map[uint64]int64
	where  map[uint64][]int32 // pair → words that held it (maybe stale)
	h      countHeap
	stamp  []int // last merge that visited each word
	merges int
}

func newTrainer(t *BPE, counts map[string]int64) *trainer {
	tr := &trainer{t: t, b2r: byteToRune(), pairs: map[uint64]int64{}, where: map[uint64][]int32{}}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for wi, k := range keys {
		w := make([]int32, len(k))
		for i := 0; i < len(k); i++ {
			w[i] = int32(t.byteIDs[k[i]])
		}
		tr.words = append(tr.words, w)
		tr.freq = append(tr.freq, counts[k])
		for i := 0; i+1 < len(w); i++ {
			p := pairKey(int(w[i]), int(w[i+1]))
			tr.pairs[p] += counts[k]
			tr.where[p] = append(tr.where[p], int32(wi))
		}
	}
	tr.stamp = make([]int, len(tr.words))
	tr.h.t = t
	for p, c := range tr.pairs {
		tr.h.items = append(tr.h.items, countCand{count: c, pair: p})
	}
	heap.Init(&tr.h)
	return tr
}

// step performs one merge; false when no pair occurs minFreq times.
func (tr *trainer) step(minFreq int64) bool {
	for tr.h.Len() > 0 {
		c := heap.Pop(&tr.h).(countCand)
		cur := tr.pairs[c.pair]
		if cur != c.count {
			if cur > 0 && cur < c.count {
				heap.Push(&tr.h, countCand{count: cur, pair: c.pair})
			}
			continue // stale entry
		}
		if cur < minFreq {
			return false
		}
		tr.merge(c.pair)
		return true
	}
	return false
}

func (tr *trainer) merge(p uint64) {
	t := tr.t
	a, b := int32(p>>32), int32(uint32(p))
	raw := t.raw[a] + t.raw[b]
	id32, exists := t.rawVocab[raw]
	id := int32(id32)
	if !exists {
		// Two merge paths can spell the same bytes ("ab"+"c", "a"+"bc"); as
		// in tokenizers, the second reuses the first's id.
		id = int32(len(t.spell))
		t.spell = append(t.spell, t.spell[a]+t.spell[b])
		t.raw = append(t.raw, raw)
		t.rawVocab[raw] = int(id)
	}
	t.merges[p] = mergeRule{rank: int32(len(t.rules)), id: id}
	t.rules = append(t.rules, [2]int{int(a), int(b)})
	tr.merges++
	touched := map[uint64]bool{}
	for _, wi := range tr.where[p] {
		if tr.stamp[wi] == tr.merges {
			continue
		}
		tr.stamp[wi] = tr.merges
		w, f := tr.words[wi], tr.freq[wi]
		if !hasPair(w, a, b) {
			continue
		}
		for i := 0; i+1 < len(w); i++ {
			tr.pairs[pairKey(int(w[i]), int(w[i+1]))] -= f
		}
		out := w[:0]
		for i := 0; i < len(w); i++ {
			if i+1 < len(w) && w[i] == a && w[i+1] == b {
				out = append(out, id)
				i++
			} else {
				out = append(out, w[i])
			}
		}
		tr.words[wi] = out
		for i := 0; i+1 < len(out); i++ {
			q := pairKey(int(out[i]), int(out[i+1]))
			tr.pairs[q] += f
			if out[i] == id || out[i+1] == id {
				tr.where[q] = append(tr.where[q], wi)
				touched[q] = true
			}
		}
	}
	delete(tr.where, p)
	delete(tr.pairs, p)
	for q := range touched {
		heap.Push(&tr.h, countCand{count: tr.pairs[q], pair: q})
	}
}

func hasPair(w []int32, a, b int32) bool {
	for i := 0; i+1 < len(w); i++ {
		if w[i] == a && w[i+1] == b {
			return true
		}
	}
	return false
}

type countCand struct {
	count int64
	pair  uint64
}

// countHeap orders pairs by count, then lexically by the left token's bytes
// and then the right's: a total order, hence a deterministic training.
type countHeap struct {
	t     *BPE
	items []countCand
}

func (h *countHeap) Len() int { return len(h.items) }
func (h *countHeap) Less(i, j int) bool {
	x, y := h.items[i], h.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	r := h.t.raw
	if c := strings.Compare(r[x.pair>>32], r[y.pair>>32]); c != 0 {
		return c < 0
	}
	return r[uint32(x.pair)] < r[uint32(y.pair)]
}
func (h *countHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *countHeap) Push(x any)    { h.items = append(h.items, x.(countCand)) }
func (h *countHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
