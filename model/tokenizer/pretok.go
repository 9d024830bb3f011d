package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// SplitStyle names a pre-tokenizer split pattern: the regex a byte-level BPE
// tokenizer cuts text with before merging, so that no token spans a word and
// the space before it, digits and letters, and so on.
type SplitStyle string

// The split patterns we implement as scanners; Go's regexp cannot run them
// because of the `\s+(?!\S)` lookahead.
const (
	// SplitGPT2 is GPT-2's pattern:
	//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	SplitGPT2 SplitStyle = "gpt2"
	// SplitQwen2 is Qwen2's pattern (digits one at a time):
	//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	SplitQwen2 SplitStyle = "qwen2"
	// SplitLlama3 is Llama 3's (and GPT-4's cl100k) pattern: as Qwen2 but
	// with \p{N}{1,3}.
	SplitLlama3 SplitStyle = "llama3"
)

// The regexes exactly as they appear in tokenizer.json files.
const (
	patternGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// Pattern returns the regex the style implements.
func (s SplitStyle) Pattern() string {
	switch s {
	case SplitGPT2:
		return patternGPT2
	case SplitQwen2:
		return patternQwen2
	case SplitLlama3:
		return patternLlama3
	}
	return ""
}

// styleForPattern maps a tokenizer.json Split regex to our scanner.
func styleForPattern(p string) (SplitStyle, error) {
	for _, s := range []SplitStyle{SplitGPT2, SplitQwen2, SplitLlama3} {
		if s.Pattern() == p {
			return s, nil
		}
	}
	return "", fmt.Errorf("unsupported pre-tokenizer split pattern %q (supported: the GPT-2, Qwen2 and Llama 3 patterns)", p)
}

// Split cuts text into pre-tokens the way the style's regex finds matches.
// The pieces are substrings of text and concatenate back to it. Invalid
// UTF-8 bytes count as one-byte symbols (neither letter, digit nor space).
func (s SplitStyle) Split(text string, yield func(piece string)) {
	for i := 0; i < len(text); {
		n := s.match(text, i)
		yield(text[i : i+n])
		i += n
	}
}

// class is the character class of one rune for the split patterns.
type class uint8

const (
	clOther  class = iota // [^\s\p{L}\p{N}]
	clLetter              // \p{L}
	clNumber              // \p{N}
	clNL                  // \r or \n
	clSpace               // \s other than \r\n
)

// at decodes the rune at i and classifies it; w is its width (1 at an
// invalid byte, 0 at the end).
func at(text string, i int) (r rune, c class, w int) {
	if i >= len(text) {
		return 0, clOther, 0
	}
	if b := text[i]; b < utf8.RuneSelf {
		r, w = rune(b), 1
		switch {
		case 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z':
			return r, clLetter, w
		case '0' <= b && b <= '9':
			return r, clNumber, w
		case b == '\r' || b == '\n':
			return r, clNL, w
		case b == ' ' || b == '\t' || b == '\v' || b == '\f':
			return r, clSpace, w
		}
		return r, clOther, w
	}
	r, w = utf8.DecodeRuneInString(text[i:])
	switch {
	case r == utf8.RuneError && w == 1:
		return r, clOther, w
	case unicode.IsLetter(r):
		return r, clLetter, w
	case unicode.IsNumber(r):
		return r, clNumber, w
	case unicode.IsSpace(r):
		return r, clSpace, w
	}
	return r, clOther, w
}

// match returns the length of the regex match starting at i (always > 0:
// every character is matched by one of the alternatives).
func (s SplitStyle) match(text string, i int) int {
	if n := contraction(text, i, s != SplitGPT2); n > 0 {
		return n
	}
	if s == SplitGPT2 {
		return matchGPT2(text, i)
	}
	_, c, w := at(text, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == clLetter {
		return w + run(text, i+w, clLetter, -1)
	}
	if c == clOther || c == clSpace {
		if _, c2, _ := at(text, i+w); c2 == clLetter {
			return w + run(text, i+w, clLetter, -1)
		}
	}
	// \p{N} or \p{N}{1,3}
	if c == clNumber {
		if s == SplitLlama3 {
			return w + run(text, i+w, clNumber, 2)
		}
		return w
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	if n := punct(text, i); n > 0 {
		return n + runNL(text, i+n)
	}
	// \s*[\r\n]+ : the whitespace run up to and including its last \r or \n.
	end, lastNL := i, -1
	for {
		_, c, w := at(text, end)
		if w == 0 || (c != clSpace && c != clNL) {
			break
		}
		if c == clNL {
			lastNL = end + w
		}
		end += w
	}
	if lastNL > 0 {
		return lastNL - i
	}
	return spaces(text, i, end)
}

// spaces implements `\s+(?!\S)|\s+` for the whitespace run text[i:end]:
// before a non-space character the last space is left to start the next
// piece (so " hello" stays together), unless the run is one character.
func spaces(text string, i, end int) int {
	if end == len(text) {
		return end - i
	}
	_, lw := utf8.DecodeLastRuneInString(text[i:end])
	if end-lw > i {
		return end - lw - i
	}
	return end - i
}

func matchGPT2(text string, i int) int {
	_, c, w := at(text, i)
	lead := 0
	if text[i] == ' ' {
		if _, c2, w2 := at(text, i+1); w2 > 0 && (c2 == clLetter || c2 == clNumber) {
			lead, c, w = 1, c2, w2
		}
	}
	switch c {
	case clLetter:
		return lead + w + run(text, i+lead+w, clLetter, -1)
	case clNumber:
		return lead + w + run(text, i+lead+w, clNumber, -1)
	}
	if n := punct(text, i); n > 0 {
		return n
	}
	end := i
	for {
		_, c, w := at(text, end)
		if w == 0 || (c != clSpace && c != clNL) {
			break
		}
		end += w
	}
	return spaces(text, i, end)
}

// punct matches ` ?[^\s\p{L}\p{N}]+` at i, returning 0 when it does not.
func punct(text string, i int) int {
	lead := 0
	if text[i] == ' ' {
		lead = 1
	}
	n := run(text, i+lead, clOther, -1)
	if n == 0 {
		return 0
	}
	return lead + n
}

// run returns the byte length of up to max (-1: any number) characters of
// class c from i.
func run(text string, i int, c class, max int) int {
	j := i
	for k := 0; max < 0 || k < max; k++ {
		_, c2, w := at(text, j)
		if w == 0 || c2 != c {
			break
		}
		j += w
	}
	return j - i
}

func runNL(text string, i int) int {
	j := i
	for j < len(text) && (text[j] == '\r' || text[j] == '\n') {
		j++
	}
	return j - i
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at i, case-insensitively when
// fold is set. Unicode simple case folding makes "ſ" (U+017F) an "s" too, as
// the Rust regex and Oniguruma engines behind tokenizers treat it.
func contraction(text string, i int, fold bool) int {
	if text[i] != '\'' {
		return 0
	}
	r1, _, w1 := at(text, i+1)
	if w1 == 0 {
		return 0
	}
	if fold {
		if r1 == 'ſ' {
			r1 = 's'
		}
		r1 = unicode.ToLower(r1)
		if r1 > unicode.MaxASCII {
			return 0
		}
	}
	switch r1 {
	case 's', 't', 'm', 'd':
		return 1 + w1
	case 'r', 'v', 'l':
		want := map[rune]rune{'r': 'e', 'v': 'e', 'l': 'l'}[r1]
		r2, _, w2 := at(text, i+1+w1)
		if fold {
			r2 = unicode.ToLower(r2)
		}
		if w2 > 0 && r2 == want {
			return 1 + w1 + w2
		}
	}
	return 0
}
