// Package tokenizer turns text into token ids and back for sleuth's engine
// and servers. It reads llama2.c tokenizer.bin files (SentencePiece-style BPE
// merged by score, byte fallback) and Hugging Face tokenizer.json files with a
// byte-level BPE model (GPT-2, Qwen2, Llama 3), trains byte-level BPE
// tokenizers from a corpus for models trained from scratch, renders chat
// templates, and decodes generated tokens one by one without splitting UTF-8.
//
// Everything here is pure Go: the pre-tokenizer split patterns of Qwen2 and
// Llama 3 use a lookahead that Go's regexp lacks, so they are hand-written
// scanners (pretok.go) checked against the regex semantics in tests.
//
// Tokenizers are safe for concurrent use: after loading, the only thing
// that changes is BPE's internal, locked cache of merged pieces.
package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"unicode/utf8"
)

// Tokenizer maps text to token ids and back.
type Tokenizer interface {
	// Encode tokenizes text without adding BOS or EOS. For tokenizer.json
	// tokenizers, added and special tokens spelled out in text become their
	// ids, as Hugging Face does by default (BPE.EncodeOrdinary does not);
	// llama2.c's encoder, like run.c, matches none.
	Encode(text string) []int
	// Decode returns the bytes the ids stand for, special tokens rendered as
	// their text. The result is not necessarily valid UTF-8 when ids end in
	// the middle of a character; use StreamDecoder when printing as you go.
	Decode(ids []int) string
	// DecodeToken returns the raw bytes of one token (possibly part of a
	// UTF-8 character), or "" when id is out of range.
	DecodeToken(id int) string
	// VocabSize is the number of ids, special tokens included.
	VocabSize() int
	// BOS and EOS return the beginning and end of sequence ids, or -1.
	BOS() int
	EOS() int
	// TokenID returns the id of a special or added token such as
	// "<|im_end|>", or of any token given in its vocabulary spelling.
	TokenID(s string) (int, bool)
}

// specialer is the optional capability of telling control tokens apart.
type specialer interface {
	IsSpecial(id int) bool
}

// StripSpecial returns ids without special (control) tokens such as BOS,
// EOS and chat markers, for showing generated text to people. Tokenizers
// that cannot tell get ids back unchanged.
func StripSpecial(tok Tokenizer, ids []int) []int {
	sp, ok := tok.(specialer)
	if !ok {
		return ids
	}
	out := make([]int, 0, len(ids))
	for _, id := range ids {
		if !sp.IsSpecial(id) {
			out = append(out, id)
		}
	}
	return out
}

// nextDecoder is the optional capability of tokenizers whose decoding of a
// token depends on the previous one (llama2.c drops the leading space of the
// first token after BOS).
type nextDecoder interface {
	decodeNext(prev, id int) string
}

// StreamDecoder turns ids into text one at a time, holding back the bytes of
// an incomplete UTF-8 character until the token that completes it arrives.
// The concatenation of everything Add and Flush return equals Decode of all
// ids. Not safe for concurrent use.
type StreamDecoder struct {
	tok  Tokenizer
	prev int
	buf  []byte
}

// NewStreamDecoder returns a decoder for a fresh sequence. Set prev to the
// last id of the prompt (for llama2.c, BOS makes the next token drop its
// leading space as run.c does); -1 when there is none.
func NewStreamDecoder(tok Tokenizer, prev int) *StreamDecoder {
	return &StreamDecoder{tok: tok, prev: prev}
}

// Add appends one id and returns the text completed by it, which may be "".
func (d *StreamDecoder) Add(id int) string {
	if nd, ok := d.tok.(nextDecoder); ok {
		d.buf = append(d.buf, nd.decodeNext(d.prev, id)...)
	} else {
		d.buf = append(d.buf, d.tok.DecodeToken(id)...)
	}
	d.prev = id
	n := completePrefix(d.buf)
	out := string(d.buf[:n])
	d.buf = append(d.buf[:0], d.buf[n:]...)
	return out
}

// Flush returns the bytes still held back (an incomplete character at the
// end of the stream) and empties the buffer.
func (d *StreamDecoder) Flush() string {
	out := string(d.buf)
	d.buf = d.buf[:0]
	return out
}

// completePrefix returns the length of b without a trailing incomplete (but
// so far valid) UTF-8 sequence. Invalid bytes are not held back: no later
// byte could make them valid.
func completePrefix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c < utf8.RuneSelf {
			return len(b)
		}
		if !utf8.RuneStart(c) {
			continue // a continuation byte: look further back for its start
		}
		need := 0
		switch {
		case c&0xE0 == 0xC0:
			need = 2
		case c&0xF0 == 0xE0:
			need = 3
		case c&0xF8 == 0xF0:
			need = 4
		default:
			return len(b)
		}
		if len(b)-i < need && validPrefix(b[i:]) {
			return i
		}
		return len(b)
	}
	return len(b)
}

// validPrefix reports whether p, shorter than its lead byte announces, could
// still become a valid UTF-8 character (the ranges of utf8.DecodeRune).
func validPrefix(p []byte) bool {
	if p[0] < 0xC2 || p[0] > 0xF4 {
		return false
	}
	lo, hi := byte(0x80), byte(0xBF)
	switch p[0] {
	case 0xE0:
		lo = 0xA0
	case 0xED:
		hi = 0x9F
	case 0xF0:
		lo = 0x90
	case 0xF4:
		hi = 0x8F
	}
	for j := 1; j < len(p); j++ {
		if j == 1 && (p[1] < lo || p[1] > hi) {
			return false
		}
		if p[j] < 0x80 || p[j] > 0xBF {
			return false
		}
	}
	return true
}

// Load reads a tokenizer, telling the formats apart by content: a JSON
// object is a Hugging Face tokenizer.json (with tokenizer_config.json beside
// it consulted for BOS/EOS), anything else a llama2.c tokenizer.bin whose
// vocabulary size is taken from the file's length.
func Load(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Valid(data) {
		return ParseJSON(path, data, readConfigBeside(path))
	}
	return ParseLlama2c(path, data, 0)
}

// LoadLlama2c reads a llama2.c tokenizer.bin holding exactly vocabSize
// tokens (the model header's vocab_size), which also catches a file cut
// short at a token boundary.
func LoadLlama2c(path string, vocabSize int) (*Llama2c, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	return ParseLlama2c(path, data, vocabSize)
}
