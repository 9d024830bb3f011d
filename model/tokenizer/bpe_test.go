package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tinyJSON is a hand-written byte-level tokenizer.json: byte b has id b,
// then five merges (Ġ t, h e, Ġt he, l l, ll o) making ids 256..260, the
// unreachable "hello" (261), and added tokens 262..264. pairs selects the
// [a, b] merges format instead of "a b".
func tinyJSON(pairs, ignoreMerges bool, pattern string) []byte {
	m := byteToRune()
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(m[b])] = b
	}
	for i, s := range []string{"Ġt", "he", "Ġthe", "ll", "llo", "hello"} {
		vocab[s] = 256 + i
	}
	var merges []any
	for _, mg := range [][2]string{{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"l", "l"}, {"ll", "o"}} {
		if pairs {
			merges = append(merges, mg[:])
		} else {
			merges = append(merges, mg[0]+" "+mg[1])
		}
	}
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 262, "content": "<|endoftext|>", "special": true},
			{"id": 263, "content": "<|im_start|>", "special": true},
			{"id": 264, "content": "<|im_end|>", "special": true},
		},
		"normalizer": nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"decoder": map[string]any{"type": "ByteLevel"},
		"model":   map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": ignoreMerges},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func tinyBPE(tb testing.TB) *BPE {
	tb.Helper()
	t, err := ParseJSON("tiny.json", tinyJSON(false, false, patternQwen2), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// TestTinyBPEEncode checks ids worked out by hand from the merges above.
func TestTinyBPEEncode(t *testing.T) {
	t.Parallel()
	const sp = ' ' // Ġ is byte 0x20, id 32
	tests := []struct {
		text string
		want []int
	}{
		{"the", []int{'t', 257}},        // h e; no rule "t he"
		{" the", []int{258}},            // Ġ t, h e, then Ġt he
		{" hello", []int{sp, 257, 260}}, // h e (rank 1), l l (3), ll o (4)
		{"the hello", []int{'t', 257, sp, 257, 260}},
		{"hi<|endoftext|> the", []int{'h', 'i', 262, 258}},
		{"<|im_start|>user\nhello<|im_end|>\n", []int{263, 'u', 's', 'e', 'r', '\n', 257, 260, 264, '\n'}},
		{"<|im_end", []int{'<', '|', 'i', 'm', '_', 'e', 'n', 'd'}}, // incomplete: ordinary text
		{"é", []int{0xC3, 0xA9}},
		{"", []int{}},
	}
	for _, pairs := range []bool{false, true} {
		tok, err := ParseJSON("tiny.json", tinyJSON(pairs, false, patternQwen2), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("pairs=%v/%q", pairs, tc.text), func(t *testing.T) {
				got := tok.Encode(tc.text)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Encode(%q) (-want +got):\n%s", tc.text, diff)
				}
				if d := tok.Decode(got); d != tc.text {
					t.Errorf("Decode = %q, want %q", d, tc.text)
				}
			})
		}
	}
}

func TestTinyBPEOptions(t *testing.T) {
	t.Parallel()
	tok := tinyBPE(t)
	if got := tok.EncodeOrdinary("<|im_end|>"); len(got) == 1 {
		t.Errorf("EncodeOrdinary matched a special token: %v", got)
	}
	if tok.BOS() != -1 || tok.EOS() != 262 {
		t.Errorf("BOS %d EOS %d, want -1 262", tok.BOS(), tok.EOS())
	}
	if id, ok := tok.TokenID("<|im_end|>"); !ok || id != 264 || !tok.IsSpecial(id) {
		t.Errorf("TokenID(<|im_end|>) = %d %v", id, ok)
	}
	if id, ok := tok.TokenID("Ġthe"); !ok || id != 258 {
		t.Errorf("TokenID(Ġthe) = %d %v", id, ok)
	}
	ign, err := ParseJSON("tiny.json", tinyJSON(false, true, patternQwen2), nil)
	if err != nil {
		t.Fatal(err)
	}
	// ignore_merges (Llama 3): a piece in the vocabulary is taken whole.
	if diff := cmp.Diff([]int{261, ' ', 257, 260}, ign.Encode("hello hello")); diff != "" {
		t.Errorf("ignore_merges (-want +got):\n%s", diff)
	}
	cfg := []byte(`{"bos_token": null, "eos_token": {"content": "<|im_end|>"}}`)
	withCfg, err := ParseJSON("tiny.json", tinyJSON(false, false, patternQwen2), cfg)
	if err != nil || withCfg.EOS() != 264 {
		t.Errorf("EOS from tokenizer_config.json: %v %v", withCfg, err)
	}
}

func TestLoadDetectsFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := filepath.Join(dir, "tokenizer.json")
	b := filepath.Join(dir, "tok.bin")
	os.WriteFile(j, tinyJSON(true, false, patternLlama3), 0o644)
	os.WriteFile(b, llama2cBytes([]string{" "}, []float32{0}), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"eos_token": "<|im_end|>"}`), 0o644)
	tj, err := Load(j)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tj.(*BPE); !ok || tj.EOS() != 264 {
		t.Errorf("Load(%s) = %T eos %d", j, tj, tj.EOS())
	}
	tb, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.(*Llama2c); !ok {
		t.Errorf("Load(%s) = %T", b, tb)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	good := string(tinyJSON(false, false, patternQwen2))
	tests := []struct {
		name, data, want string
	}{
		{"not json", "{", "unexpected end"},
		{"syntax offset", `{"model": {"type": "BPE",, }}`, "offset 26"},
		{"wrong type", `{"model": {"type": "BPE", "vocab": {"a": "x"}}}`, "offset 44"},
		{"wordpiece", `{"model": {"type": "WordPiece"}}`, `model.type "WordPiece"`},
		{"bad merge", strings.Replace(good, `"ll o"`, `"ll o x"`, 1), "model.merges[4]"},
		{"merge of unknown", strings.Replace(good, `"ll o"`, `"ll q"`, 1), "not in the vocabulary"},
		{"merge not string", strings.Replace(good, `"ll o"`, `7`, 1), "model.merges[4]"},
		{"unknown pattern", strings.Replace(good, `(?i:'s`, `(?i:'x`, 1), "unsupported pre-tokenizer split pattern"},
		{"missing byte", strings.Replace(good, `"Ā":0,`, ``, 1), "no token for byte 0x00"},
		{"negative id", strings.Replace(good, `"Ā":0`, `"Ā":-5`, 1), "out of range"},
		{"no pretokenizer", strings.Replace(good, `"pre_tokenizer"`, `"x"`, 1), "pre_tokenizer: missing"},
		{"bad normalizer", strings.Replace(good, `"normalizer":null`, `"normalizer":{"type":"Lowercase"}`, 1), "Lowercase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON("bad.json", []byte(tc.data), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.json") {
				t.Errorf("err = %v, want it to name bad.json and contain %q", err, tc.want)
			}
		})
	}
}

func TestNFCNormalizer(t *testing.T) {
	t.Parallel()
	data := strings.Replace(string(tinyJSON(false, false, patternQwen2)), `"normalizer":null`, `"normalizer":{"type":"NFC"}`, 1)
	tok, err := ParseJSON("nfc.json", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Decode(tok.Encode("e\u0301")); got != "é" {
		t.Errorf("NFC: got %q", got)
	}
}

func TestStreamDecoder(t *testing.T) {
	t.Parallel()
	tok := tinyBPE(t)
	for _, s := range append(unicodeSamples, "\xff\xfe", "a\xe2\x82", "\xf0\x9f") {
		ids := tok.Encode(s) // byte-level: multi-byte characters span several ids
		sd := NewStreamDecoder(tok, -1)
		var chunks []string
		for _, id := range ids {
			chunks = append(chunks, sd.Add(id))
		}
		chunks = append(chunks, sd.Flush())
		if got := strings.Join(chunks, ""); got != s {
			t.Errorf("stream of %q gave %q", s, got)
		}
		for _, c := range chunks[:len(chunks)-1] {
			if strings.ToValidUTF8(c, "") != c && strings.ToValidUTF8(s, "") == s {
				t.Errorf("stream of valid %q produced invalid chunk %q", s, c)
			}
		}
	}
}

func TestCompletePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"abc", 3}, {"a\xc3", 1}, {"a\xe2\x82", 1}, {"a\xe2\x82\xac", 4},
		{"\xf0\x9f\x91", 0}, {"a\xff", 2}, {"a\xe0\x80", 3}, {"a\xed\xa0", 3}, {"\x80", 1},
	}
	for _, tc := range tests {
		if got := completePrefix([]byte(tc.in)); got != tc.want {
			t.Errorf("completePrefix(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add(tinyJSON(false, false, patternQwen2), "the hello<|im_end|>")
	f.Add(tinyJSON(true, true, patternGPT2), "x")
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{},"merges":[]}}`), "")
	// Real files give the mutator JSON that stays valid after small edits.
	for _, name := range []string{"qwen2.json", "gpt2.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "tokenizersjs", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "the <search>river</search> 1999 café")
	}
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := ParseJSON("fuzz.json", data, nil)
		if err != nil {
			return
		}
		if len(tok.added) == 0 && !tok.nfc && !tok.prefix {
			if got := tok.Decode(tok.Encode(text)); got != text {
				t.Fatalf("round trip of %q gave %q", text, got)
			}
		}
	})
}

// FuzzBPEEncode checks byte-level round trips on any input (invalid UTF-8
// and special tokens included) and the heap merge against the naive one.
func FuzzBPEEncode(f *testing.F) {
	for _, s := range unicodeSamples {
		f.Add(s)
	}
	f.Add("<|im_start|>hello the<|im_end|>\xff")
	tok := trainedBPE(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		tok.split.Split(s, func(p string) {
			var a, b []int
			for i := 0; i < len(p); i++ {
				a = append(a, tok.byteIDs[p[i]])
			}
			b = append(b, a...)
			if diff := cmp.Diff(tok.mergeNaive(a), tok.mergeHeap(b)); diff != "" {
				t.Fatalf("heap merge of %q differs (-naive +heap):\n%s", p, diff)
			}
		})
	})
}

// TestGPT2ByteLevelPrefixSpace reads a GPT-2 style pre-tokenizer (ByteLevel
// with its own regex) with add_prefix_space, which prepends " " to text.
func TestGPT2ByteLevelPrefixSpace(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	if err := json.Unmarshal(tinyJSON(false, false, patternQwen2), &doc); err != nil {
		t.Fatal(err)
	}
	doc["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
	data, _ := json.Marshal(doc)
	tok, err := ParseJSON("gpt2.json", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Split() != SplitGPT2 {
		t.Errorf("split %s, want gpt2", tok.Split())
	}
	if diff := cmp.Diff([]int{258}, tok.Encode("the")); diff != "" {
		t.Errorf("add_prefix_space (-want +got):\n%s", diff)
	}
}

// TestLongPieces makes sure pathological inputs (one huge piece, one huge
// llama2.c text) stay fast and exact.
func TestLongPieces(t *testing.T) {
	t.Parallel()
	tok := trainedBPE(t)
	s := strings.Repeat("!?.", 30000)
	if got := tok.Decode(tok.Encode(s)); got != s {
		t.Error("long punctuation run does not round-trip")
	}
	l := tinyLlama2c(t)
	s = strings.Repeat("abc é日本 ", 5000)
	if got := l.Decode(l.Encode(s)); got != " "+s {
		t.Error("long llama2.c text does not round-trip")
	}
}

// TestConcurrentEncode exercises the piece cache from several goroutines
// (run with -race).
func TestConcurrentEncode(t *testing.T) {
	t.Parallel()
	tok := trainedBPE(t)
	texts := syntheticCorpus(200)
	want := make([][]int, len(texts))
	for i, s := range texts {
		want[i] = tok.EncodeOrdinary(s)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range texts {
				k := (i + g*50) % len(texts)
				if got := tok.EncodeOrdinary(texts[k]); !cmp.Equal(got, want[k]) {
					done <- fmt.Errorf("text %d differs under concurrency", k)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestStripSpecial(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff([]int{104, 105}, StripSpecial(tinyBPE(t), []int{263, 104, 105, 264})); diff != "" {
		t.Errorf("BPE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{300}, StripSpecial(tinyLlama2c(t), []int{1, 300, 2})); diff != "" {
		t.Errorf("llama2.c (-want +got):\n%s", diff)
	}
}
