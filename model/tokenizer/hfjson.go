package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// hfFile is the part of a Hugging Face tokenizer.json we read.
type hfFile struct {
	AddedTokens  []AddedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        hfModel         `json:"model"`
}

type hfModel struct {
	Type                    string            `json:"type"`
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	ContinuingSubwordPrefix string            `json:"continuing_subword_prefix"`
	EndOfWordSuffix         string            `json:"end_of_word_suffix"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
}

type hfComponent struct {
	Type           string          `json:"type"`
	AddPrefixSpace bool            `json:"add_prefix_space"`
	UseRegex       *bool           `json:"use_regex"`
	Pattern        json.RawMessage `json:"pattern"`
	Behavior       string          `json:"behavior"`
	Invert         bool            `json:"invert"`
	Pretokenizers  []hfComponent   `json:"pretokenizers"`
	Normalizers    []hfComponent   `json:"normalizers"`
}

// maxVocabID bounds ids so that a corrupt file cannot make us allocate
// gigabytes (the largest real vocabularies hold about 260k tokens).
const maxVocabID = 1 << 22

// ParseJSON reads a Hugging Face tokenizer.json whose model is byte-level
// BPE. config is the tokenizer_config.json beside it, or nil: its bos_token
// and eos_token name BOS and EOS; without it, well-known spellings
// ("<|begin_of_text|>", "<|endoftext|>", "<|bos|>", …) are looked for. name
// is used in errors only.
func ParseJSON(name string, data, config []byte) (*BPE, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json %s: %w", name, jsonOffset(err))
	}
	t, err := f.build()
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json %s: %w", name, err)
	}
	if err := t.setBosEos(config); err != nil {
		return nil, fmt.Errorf("tokenizer config beside %s: %w", name, err)
	}
	return t, nil
}

// jsonOffset adds the byte offset that encoding/json knows but does not
// print.
func jsonOffset(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("offset %d: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("offset %d: %w", te.Offset, err)
	}
	return err
}

func readConfigBeside(path string) []byte {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	if err != nil {
		return nil
	}
	return data
}

func (f *hfFile) build() (*BPE, error) {
	m := f.Model
	if m.Type != "BPE" && !(m.Type == "" && m.Merges != nil) {
		return nil, fmt.Errorf("model.type %q: only byte-level BPE is supported", m.Type)
	}
	if m.ContinuingSubwordPrefix != "" || m.EndOfWordSuffix != "" || m.ByteFallback {
		return nil, errors.New("model: continuing_subword_prefix, end_of_word_suffix and byte_fallback are not supported (not a byte-level BPE)")
	}
	t := &BPE{bos: -1, eos: -1, ignore: m.IgnoreMerges}
	if err := t.parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := t.parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	spell := make([]string, 0, len(m.Vocab))
	for s, id := range m.Vocab {
		if id < 0 || id >= maxVocabID {
			return nil, fmt.Errorf("model.vocab[%q]: id %d out of range 0..%d", s, id, maxVocabID-1)
		}
		for id >= len(spell) {
			spell = append(spell, "")
		}
		if spell[id] != "" {
			return nil, fmt.Errorf("model.vocab: id %d given to both %q and %q", id, spell[id], s)
		}
		spell[id] = s
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		a, b, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("model.merges[%d]: %w", i, err)
		}
		merges[i] = [2]string{a, b}
	}
	return t, t.init(spell, merges, f.AddedTokens)
}

// parseMerge reads one merge in either format: "a b" or ["a", "b"].
func parseMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		parts := strings.Split(s, " ")
		if len(parts) != 2 {
			return "", "", fmt.Errorf("%q is not two tokens separated by one space", s)
		}
		return parts[0], parts[1], nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("%s is neither \"a b\" nor [\"a\", \"b\"]", raw)
	}
	return pair[0], pair[1], nil
}

func (t *BPE) parseNormalizer(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("normalizer: %w", err)
	}
	list := []hfComponent{c}
	if c.Type == "Sequence" {
		list = c.Normalizers
	}
	for _, n := range list {
		if n.Type != "NFC" {
			return fmt.Errorf("normalizer %q: only NFC is supported", n.Type)
		}
		t.nfc = true
	}
	return nil
}

func (t *BPE) parsePreTokenizer(raw json.RawMessage) error {
	var c hfComponent
	if len(raw) == 0 || string(raw) == "null" {
		return errors.New("pre_tokenizer: missing (a byte-level BPE needs ByteLevel)")
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("pre_tokenizer: %w", err)
	}
	list := []hfComponent{c}
	if c.Type == "Sequence" {
		list = c.Pretokenizers
	}
	byteLevel := false
	for i, p := range list {
		switch p.Type {
		case "Split":
			if t.split != "" {
				return fmt.Errorf("pre_tokenizer[%d]: a second split pattern is not supported", i)
			}
			var pat struct{ Regex *string }
			if err := json.Unmarshal(p.Pattern, &pat); err != nil || pat.Regex == nil {
				return fmt.Errorf("pre_tokenizer[%d]: Split pattern %s: only {\"Regex\": …} is supported", i, p.Pattern)
			}
			if p.Behavior != "Isolated" || p.Invert {
				return fmt.Errorf("pre_tokenizer[%d]: Split behavior %q invert %v: only Isolated, not inverted, is supported", i, p.Behavior, p.Invert)
			}
			s, err := styleForPattern(*pat.Regex)
			if err != nil {
				return fmt.Errorf("pre_tokenizer[%d]: %w", i, err)
			}
			t.split = s
		case "ByteLevel":
			byteLevel = true
			t.prefix = p.AddPrefixSpace
			if p.UseRegex == nil || *p.UseRegex {
				if t.split != "" {
					return fmt.Errorf("pre_tokenizer[%d]: ByteLevel use_regex after a Split is not supported", i)
				}
				t.split = SplitGPT2
			}
		default:
			return fmt.Errorf("pre_tokenizer[%d]: type %q is not supported", i, p.Type)
		}
	}
	if !byteLevel {
		return errors.New("pre_tokenizer: no ByteLevel step (only byte-level BPE is supported)")
	}
	if t.split == "" {
		return errors.New("pre_tokenizer: no split pattern")
	}
	return nil
}

// init builds the tables from the vocabulary spellings by id (gaps ""),
// merges by rank, and added tokens.
func (t *BPE) init(spell []string, merges [][2]string, added []AddedToken) error {
	b2r := byteToRune()
	inv := make(map[rune]byte, 256)
	for b, r := range b2r {
		inv[r] = byte(b)
	}
	for _, a := range added {
		if a.ID < 0 || a.ID >= maxVocabID {
			return fmt.Errorf("added_tokens: %q: id %d out of range", a.Content, a.ID)
		}
		if a.Content == "" {
			return fmt.Errorf("added_tokens: id %d: empty content", a.ID)
		}
		for a.ID >= len(spell) {
			spell = append(spell, "")
		}
	}
	t.spell = spell
	t.raw = make([]string, len(spell))
	t.rawVocab = make(map[string]int, len(spell))
	ids := make(map[string]int, len(spell))
	for id, s := range spell {
		if s == "" {
			continue
		}
		ids[s] = id
		t.raw[id], _ = unspell(inv, s)
		t.rawVocab[t.raw[id]] = id
	}
	for b := range t.byteIDs {
		id, ok := ids[string(b2r[b])]
		if !ok {
			return fmt.Errorf("model.vocab: no token for byte 0x%02x (%q); not a byte-level BPE", b, string(b2r[b]))
		}
		t.byteIDs[b] = id
	}
	t.merges = make(map[uint64]mergeRule, len(merges))
	t.rules = make([][2]int, 0, len(merges))
	for i, m := range merges {
		a, okA := ids[m[0]]
		b, okB := ids[m[1]]
		c, okC := ids[m[0]+m[1]]
		if !okA || !okB || !okC {
			return fmt.Errorf("model.merges[%d]: %q + %q: a token or their merge is not in the vocabulary", i, m[0], m[1])
		}
		if _, dup := t.merges[pairKey(a, b)]; dup {
			continue // the first (lowest rank) rule wins, as in tokenizers
		}
		t.merges[pairKey(a, b)] = mergeRule{rank: int32(i), id: int32(c)}
		t.rules = append(t.rules, [2]int{a, b})
	}
	return t.initAdded(added)
}

func (t *BPE) initAdded(added []AddedToken) error {
	t.added = slices.Clone(added)
	slices.SortStableFunc(t.added, func(a, b AddedToken) int { return a.ID - b.ID })
	t.addedIndex = make(map[string]int, len(added))
	t.special = make(map[int]bool)
	for k, a := range t.added {
		if id, dup := t.addedIndex[a.Content]; dup && id != a.ID {
			return fmt.Errorf("added_tokens: %q has ids %d and %d", a.Content, id, a.ID)
		}
		if t.spell[a.ID] != "" && t.raw[a.ID] != a.Content && t.spell[a.ID] != a.Content {
			return fmt.Errorf("added_tokens: id %d is %q but the vocabulary spells it %q", a.ID, a.Content, t.spell[a.ID])
		}
		t.addedIndex[a.Content] = a.ID
		if t.rawVocab[t.raw[a.ID]] == a.ID {
			delete(t.rawVocab, t.raw[a.ID]) // only matchAdded may produce an added token
		}
		t.raw[a.ID] = a.Content
		if t.spell[a.ID] == "" {
			t.spell[a.ID] = a.Content
		}
		if a.Special {
			t.special[a.ID] = true
		}
		t.addedFirst[a.Content[0]] = append(t.addedFirst[a.Content[0]], k)
	}
	for _, ks := range t.addedFirst {
		slices.SortStableFunc(ks, func(i, j int) int { return len(t.added[j].Content) - len(t.added[i].Content) })
	}
	return nil
}

// setBosEos picks BOS and EOS from tokenizer_config.json, else by name.
func (t *BPE) setBosEos(config []byte) error {
	t.bos = t.firstKnown("<|begin_of_text|>", "<s>", "<|bos|>", "<|startoftext|>", "<bos>")
	t.eos = t.firstKnown("<|end_of_text|>", "<|endoftext|>", "</s>", "<|eos|>", "<eos>")
	if len(config) == 0 {
		return nil
	}
	var c struct {
		BOS json.RawMessage `json:"bos_token"`
		EOS json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return err
	}
	for _, f := range []struct {
		raw json.RawMessage
		dst *int
		key string
	}{{c.BOS, &t.bos, "bos_token"}, {c.EOS, &t.eos, "eos_token"}} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(f.raw, &s) != nil {
			var obj struct{ Content string }
			if err := json.Unmarshal(f.raw, &obj); err != nil {
				return fmt.Errorf("%s: %w", f.key, err)
			}
			s = obj.Content
		}
		id, ok := t.TokenID(s)
		if !ok {
			return fmt.Errorf("%s %q is not a token", f.key, s)
		}
		*f.dst = id
	}
	return nil
}

func (t *BPE) firstKnown(names ...string) int {
	for _, n := range names {
		if id, ok := t.addedIndex[n]; ok {
			return id
		}
	}
	return -1
}

// Save writes t as a Hugging Face tokenizer.json that ParseJSON (and the
// tokenizers library) reads back.
func (t *BPE) Save(path string) error {
	var buf bytes.Buffer
	if err := t.WriteJSON(&buf); err != nil {
		return fmt.Errorf("save tokenizer %s: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("save tokenizer: %w", err)
	}
	return nil
}

// WriteJSON writes t in tokenizer.json form, the vocabulary in id order and
// merges as [a, b] pairs.
func (t *BPE) WriteJSON(w io.Writer) error {
	q := func(s string) string {
		b, _ := json.Marshal(s) // marshalling a string cannot fail
		return string(b)
	}
	var b strings.Builder
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    {\"id\": %d, \"content\": %s, \"single_word\": %v, \"lstrip\": %v, \"rstrip\": %v, \"normalized\": %v, \"special\": %v}",
			a.ID, q(a.Content), a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	b.WriteString("\n  ],\n  \"normalizer\": ")
	if t.nfc {
		b.WriteString(`{"type": "NFC"}`)
	} else {
		b.WriteString("null")
	}
	fmt.Fprintf(&b, ",\n  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": %s}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": %v, \"trim_offsets\": false, \"use_regex\": false}]},\n",
		q(t.split.Pattern()), t.prefix)
	b.WriteString("  \"post_processor\": null,\n  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
	fmt.Fprintf(&b, "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": %v,\n    \"vocab\": {", t.ignore)
	first := true
	for id, s := range t.spell {
		if s == "" {
			continue // tokenizers numbers the vocabulary densely; gaps only come from odd inputs
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "\n      %s: %d", q(s), id)
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, r := range t.rules {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n      [%s, %s]", q(t.spell[r[0]]), q(t.spell[r[1]]))
	}
	b.WriteString("\n    ]\n  }\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
