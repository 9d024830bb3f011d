package bert

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer is BERT's WordPiece tokenizer (Hugging Face BertTokenizer):
// clean the text, put spaces around CJK characters, lowercase and strip
// accents when uncased, split on whitespace and punctuation, then split
// each word greedily into the longest vocabulary pieces, continuations
// marked "##". It is safe for concurrent use.
type Tokenizer struct {
	vocab     map[string]int
	lowercase bool
	unk, cls  int
	sep, pad  int
}

// LoadTokenizer reads vocab.txt (one token a line, the line number its id)
// or a tokenizer.json with a WordPiece model. lowercase is BertTokenizer's
// do_lower_case (true for uncased models such as e5 and bge-en); for a
// tokenizer.json the file's BertNormalizer setting wins.
func LoadTokenizer(path string, lowercase bool) (*Tokenizer, error) {
	vocab := map[string]int{}
	if strings.HasSuffix(path, ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		var tj struct {
			Normalizer *struct {
				Type      string `json:"type"`
				Lowercase *bool  `json:"lowercase"`
			} `json:"normalizer"`
			Model struct {
				Type  string         `json:"type"`
				Vocab map[string]int `json:"vocab"`
			} `json:"model"`
		}
		if err := json.Unmarshal(b, &tj); err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
		if tj.Model.Type != "WordPiece" {
			return nil, fmt.Errorf("tokenizer %s: model type %q, want WordPiece", path, tj.Model.Type)
		}
		vocab = tj.Model.Vocab
		if tj.Normalizer != nil && tj.Normalizer.Lowercase != nil {
			lowercase = *tj.Normalizer.Lowercase
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for i := 0; sc.Scan(); i++ {
			tok := strings.TrimRight(sc.Text(), "\r")
			if _, dup := vocab[tok]; !dup {
				vocab[tok] = i
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
	}
	return NewTokenizer(vocab, lowercase)
}

// NewTokenizer builds a tokenizer over vocab, which must hold [UNK], [CLS],
// [SEP] and [PAD].
func NewTokenizer(vocab map[string]int, lowercase bool) (*Tokenizer, error) {
	t := &Tokenizer{vocab: vocab, lowercase: lowercase}
	for name, dst := range map[string]*int{"[UNK]": &t.unk, "[CLS]": &t.cls, "[SEP]": &t.sep, "[PAD]": &t.pad} {
		id, ok := vocab[name]
		if !ok {
			return nil, fmt.Errorf("tokenizer: vocabulary has no %s", name)
		}
		*dst = id
	}
	return t, nil
}

// findTokenizer looks for vocab.txt, then tokenizer.json, in dir.
func findTokenizer(dir string, lowercase bool) (*Tokenizer, error) {
	for _, name := range []string{"vocab.txt", "tokenizer.json"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return LoadTokenizer(p, lowercase)
		}
	}
	return nil, fmt.Errorf("tokenizer: neither vocab.txt nor tokenizer.json in %s", dir)
}

// Encode returns [CLS] pieces… [SEP], cut to at most maxLen ids.
func (t *Tokenizer) Encode(text string, maxLen int) []int {
	ids := []int{t.cls}
	for _, w := range t.words(text) {
		ids = append(ids, t.wordPieces(w)...)
		if len(ids) >= maxLen-1 {
			break
		}
	}
	if len(ids) > maxLen-1 {
		ids = ids[:max(1, maxLen-1)]
	}
	return append(ids, t.sep)
}

// words is BertTokenizer's basic tokenisation.
func (t *Tokenizer) words(text string) []string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == 0 || r == 0xfffd || (isControl(r)):
			continue
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	var out []string
	for _, w := range strings.Fields(b.String()) {
		if t.lowercase {
			w = stripAccents(strings.ToLower(w))
		}
		start := 0
		rs := []rune(w)
		for i, r := range rs {
			if isPunct(r) {
				if i > start {
					out = append(out, string(rs[start:i]))
				}
				out = append(out, string(r))
				start = i + 1
			}
		}
		if start < len(rs) {
			out = append(out, string(rs[start:]))
		}
	}
	return out
}

// wordPieces splits one word greedily, longest match first.
func (t *Tokenizer) wordPieces(w string) []int {
	rs := []rune(w)
	if len(rs) > 100 {
		return []int{t.unk}
	}
	var ids []int
	for start := 0; start < len(rs); {
		end := len(rs)
		id := -1
		for ; end > start; end-- {
			piece := string(rs[start:end])
			if start > 0 {
				piece = "##" + piece
			}
			if v, ok := t.vocab[piece]; ok {
				id = v
				break
			}
		}
		if id < 0 {
			return []int{t.unk}
		}
		ids = append(ids, id)
		start = end
	}
	return ids
}

func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}

// isPunct is BERT's: ASCII symbols count as punctuation, and so does every
// Unicode P* character.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
