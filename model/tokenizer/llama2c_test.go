package tokenizer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// llama2cBytes writes a tokenizer.bin: <unk>, <s>, </s>, the 256 byte
// tokens (ids 3..258, as in llama2.c files), then pieces with their scores.
func llama2cBytes(pieces []string, scores []float32) []byte {
	all := []string{"<unk>", "\n<s>\n", "\n</s>\n"}
	sc := []float32{0, 0, 0}
	for b := range 256 {
		all = append(all, "<0x"+strings.ToUpper(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15]))+">")
		sc = append(sc, 0)
	}
	all = append(all, pieces...)
	sc = append(sc, scores...)
	maxLen := 0
	for _, p := range all {
		maxLen = max(maxLen, len(p))
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range all {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(sc[i]))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// tinyLlama2c is a synthetic vocabulary for tests that must run without the
// shared data: ids 259.. are the pieces below.
func tinyLlama2c(tb testing.TB) *Llama2c {
	tb.Helper()
	pieces := []string{" ", "a", "b", "c", "ab", " a", " ab", "bc", "abc", "é", " é", "日", "本", "日本", "\n", "aa"}
	scores := []float32{-1, -2, -3, -4, 5, 4, 6, 5, 1, -5, 2, -6, -7, 3, -8, 5}
	t, err := ParseLlama2c("tiny", llama2cBytes(pieces, scores), 0)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// encodeRunC is a literal port of run.c's encode() (bos=0, eos=0): the
// O(n²) reference the heap-based Encode must agree with.
func encodeRunC(t *Llama2c, text string) []int {
	if text == "" {
		return nil
	}
	var ids []int
	if t.spaceID >= 0 {
		ids = append(ids, t.spaceID)
	} else {
		ids = t.appendBytes(ids, " ")
	}
	buf := []byte{}
	for i := 0; i < len(text); i++ {
		if text[i]&0xC0 != 0x80 {
			buf = buf[:0]
		}
		buf = append(buf, text[i])
		if i+1 < len(text) && text[i+1]&0xC0 == 0x80 && len(buf) < 4 {
			continue
		}
		if id, ok := t.lookup[string(buf)]; ok {
			ids = append(ids, id)
		} else {
			ids = t.appendBytes(ids, string(buf))
		}
		buf = buf[:0]
	}
	for {
		best, bestID := -1, -1
		bestScore := float32(-1e10)
		for i := 0; i+1 < len(ids); i++ {
			id, ok := t.lookup[t.pieces[ids[i]]+t.pieces[ids[i+1]]]
			if ok && t.scores[id] > bestScore {
				best, bestID, bestScore = i, id, t.scores[id]
			}
		}
		if best < 0 {
			return ids
		}
		ids[best] = bestID
		ids = append(ids[:best+1], ids[best+2:]...)
	}
}

func TestLlama2cEncodeTiny(t *testing.T) {
	t.Parallel()
	tok := tinyLlama2c(t)
	id := func(p string) int { i, ok := tok.TokenID(p); mustOK(t, ok, p); return i }
	tests := []struct {
		text string
		want []int
	}{
		{"", nil},
		{"a", []int{id(" a")}},
		{"ab", []int{id(" ab")}},                    // ab (5) beats " a" (4), then " "+ab (6)
		{"abc", []int{id(" ab"), id("c")}},          // ab and bc tie at 5: leftmost wins
		{"bc", []int{id(" "), id("bc")}},            // " bc" is no piece
		{"aaa", []int{id(" "), id("aa"), id("a")}},  // leftmost aa; " aa" and "aaa" are no pieces
		{"é", []int{id(" é")}},                      // UTF-8 character as one piece
		{"日本", []int{id(" "), id("日本")}},            // merge of two characters
		{"x", []int{id(" "), 'x' + 3}},              // byte fallback
		{"\xff", []int{id(" "), 0xff + 3}},          // invalid UTF-8: a byte token
		{"ü", []int{id(" "), 0xc3 + 3, 0xbc + 3}},   // character not in vocab: its bytes
		{"a\x00b", []int{id(" a"), 0 + 3, id("b")}}, // NUL kept, unlike C
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := tok.Encode(tc.text)
			if diff := cmp.Diff(encodeRunC(tok, tc.text), got); diff != "" {
				t.Errorf("Encode disagrees with the run.c port (-runc +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Encode(%q) (-want +got):\n%s", tc.text, diff)
			}
			if tc.text != "" {
				if d := tok.Decode(got); d != " "+tc.text {
					t.Errorf("Decode = %q, want %q", d, " "+tc.text)
				}
			}
		})
	}
}

func mustOK(tb testing.TB, ok bool, what string) {
	tb.Helper()
	if !ok {
		tb.Fatalf("%s: not found", what)
	}
}

type greedyRef struct {
	Model     string `json:"model"`
	PromptIDs []int  `json:"prompt_ids"`
	GreedyIDs []int  `json:"greedy_ids"`
}

func aidreams(tb testing.TB) *Llama2c {
	tb.Helper()
	path := shareddata.Path(tb, "models/aidreams260K_tok512.bin")
	tok, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := LoadLlama2c(path, 512); err != nil {
		tb.Fatal(err)
	}
	if _, err := LoadLlama2c(path, 511); err == nil || !strings.Contains(err.Error(), "trailing bytes") {
		tb.Fatalf("LoadLlama2c with the wrong vocab size: %v", err)
	}
	return tok.(*Llama2c)
}

// TestLlama2cAidreamsGreedy decodes the reference greedy ids of
// aidreams260K after its prompt (BOS), as run.c prints them.
func TestLlama2cAidreamsGreedy(t *testing.T) {
	tok := aidreams(t)
	f, err := os.Open(shareddata.Path(t, "models/reference_greedy.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	found := false
	for sc.Scan() {
		var r greedyRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Model != "aidreams260K.bin" {
			continue
		}
		found = true
		if diff := cmp.Diff([]int{tok.BOS()}, r.PromptIDs); diff != "" {
			t.Fatalf("prompt is not BOS: %s", diff)
		}
		sd := NewStreamDecoder(tok, r.PromptIDs[len(r.PromptIDs)-1])
		var b strings.Builder
		for _, id := range r.GreedyIDs {
			b.WriteString(sd.Add(id))
		}
		b.WriteString(sd.Flush())
		got := b.String()
		// The model opens a quotation: `"Echoes of vectors unfold, …`.
		if want := `"Echoes of vectors unfold, a gentle hum of precision`; !strings.HasPrefix(got, want) {
			t.Errorf("greedy text = %q, want prefix %q", got, want)
		}
		if full := tok.Decode(append(r.PromptIDs, r.GreedyIDs...)); full != "\n<s>\n"+got {
			t.Errorf("Decode(prompt+greedy) = %q, want BOS piece then %q", full, got)
		}
	}
	if !found {
		t.Fatal("no aidreams260K.bin line in reference_greedy.jsonl")
	}
}

func TestLlama2cAidreamsRoundTrip(t *testing.T) {
	tok := aidreams(t)
	if tok.VocabSize() != 512 || tok.BOS() != 1 || tok.EOS() != 2 {
		t.Fatalf("vocab %d bos %d eos %d", tok.VocabSize(), tok.BOS(), tok.EOS())
	}
	for _, s := range unicodeSamples {
		t.Run(s, func(t *testing.T) {
			ids := tok.Encode(s)
			if diff := cmp.Diff(encodeRunC(tok, s), ids); diff != "" {
				t.Errorf("Encode disagrees with the run.c port:\n%s", diff)
			}
			// run.c prepends the dummy " "; decoding after BOS drops it again.
			sd := NewStreamDecoder(tok, tok.BOS())
			var b strings.Builder
			for _, id := range ids {
				b.WriteString(sd.Add(id))
			}
			if got := b.String() + sd.Flush(); got != s {
				t.Errorf("decoded after BOS = %q, want %q", got, s)
			}
		})
	}
	if got := tok.Encode("Echoes of vectors unfold"); len(got) > 12 {
		t.Errorf("Encode used %d tokens for an in-domain phrase: %v", len(got), got)
	}
}

// unicodeSamples exercise round trips: accents, CJK, emoji (with ZWJ and
// skin tones), combining marks, newlines, runs of spaces, tabs.
var unicodeSamples = []string{
	"Hello, world!",
	"Echoes of vectors unfold, a gentle hum of precision.",
	"café naïve Ærøskøbing",
	"e\u0301 a\u0300\u0316 combining marks",
	"日本語のテキストと中文",
	"emoji 👩‍👩‍👧 👍🏽 🇫🇷!",
	"line one\nline two\r\n\n  indented\ttab",
	"many     spaces   and trailing   ",
	"  leading spaces",
	"numbers 12345 and 3.14159, x=-7",
	"it's we'll they're I'M 'stop'",
	"<search>query</search><answer>42</answer>",
	"\u00a0nbsp\u2003em\u3000ideographic",
}

func TestParseLlama2cErrors(t *testing.T) {
	t.Parallel()
	good := llama2cBytes(nil, nil)
	neg := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(neg[8:], uint32(0xFFFFFFFF)) // length of token 0 = -1
	tests := []struct {
		name  string
		data  []byte
		vocab int
		want  string
	}{
		{"empty", nil, 0, "need at least"},
		{"bad header", []byte{0, 0, 0, 0}, 0, "offset 0: max_token_length 0"},
		{"truncated record", good[:len(good)-3], 0, "truncated piece"},
		{"truncated score", good[:10], 0, "truncated score/length"},
		{"negative length", neg, 0, "length -1"},
		{"short of vocab", good, 300, "token 259: truncated"},
		{"trailing bytes", good, 100, "trailing bytes after 100 tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLlama2c("x.bin", tc.data, tc.vocab)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.bin") {
				t.Errorf("err = %v, want it to name x.bin and contain %q", err, tc.want)
			}
		})
	}
	if _, err := ParseLlama2c("x.bin", good, 259); err != nil {
		t.Errorf("exact vocab size: %v", err)
	}
}

func FuzzParseLlama2c(f *testing.F) {
	f.Add(llama2cBytes([]string{" ", "a", " a"}, []float32{1, 2, 3}), "a a")
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'x'}, "x")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := ParseLlama2c("fuzz.bin", data, 0)
		if err != nil {
			return
		}
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("id %d out of range %d", id, tok.VocabSize())
			}
		}
		_ = tok.Decode(ids)
	})
}

func FuzzLlama2cEncode(f *testing.F) {
	for _, s := range unicodeSamples {
		f.Add(s)
	}
	f.Add("abcabc aaab\xff\xc3")
	tok := tinyLlama2c(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if diff := cmp.Diff(encodeRunC(tok, s), ids); diff != "" {
			t.Fatalf("Encode(%q) disagrees with the run.c port:\n%s", s, diff)
		}
		want := ""
		if s != "" {
			want = " " + s
		}
		if got := tok.Decode(ids); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if utf8.ValidString(s) && s != "" {
			sd := NewStreamDecoder(tok, tok.BOS())
			var b strings.Builder
			for _, id := range ids {
				out := sd.Add(id)
				if !utf8.ValidString(out) {
					t.Fatalf("stream chunk %q is not valid UTF-8", out)
				}
				b.WriteString(out)
			}
			if got := b.String() + sd.Flush(); got != s {
				t.Fatalf("streamed %q, want %q", got, s)
			}
		}
	})
}
