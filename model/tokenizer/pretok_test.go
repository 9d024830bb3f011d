package tokenizer

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The expected splits are worked out by hand from the regexes (leftmost
// alternative first, greedy with backtracking, as Oniguruma and fancy-regex
// run them).
func TestSplit(t *testing.T) {
	t.Parallel()
	type sp = []string
	tests := []struct {
		style SplitStyle
		text  string
		want  sp
	}{
		{SplitQwen2, "Hello world", sp{"Hello", " world"}},
		{SplitQwen2, "it's don't we'll", sp{"it", "'s", " don", "'t", " we", "'ll"}},
		{SplitQwen2, "IT'S", sp{"IT", "'S"}},               // contractions ignore case
		{SplitQwen2, "'stop'", sp{"'s", "top", "'"}},       // 's wins over '+letters
		{SplitQwen2, "'ſ", sp{"'ſ"}},                       // ſ folds to s
		{SplitQwen2, "12345", sp{"1", "2", "3", "4", "5"}}, // one digit at a time
		{SplitQwen2, "x=-7", sp{"x", "=-", "7"}},
		{SplitQwen2, "$100", sp{"$", "1", "0", "0"}},
		{SplitQwen2, "  leading", sp{" ", " leading"}}, // the last space goes with the word
		{SplitQwen2, "a  b", sp{"a", " ", " b"}},
		{SplitQwen2, "trailing   ", sp{"trailing", "   "}},
		{SplitQwen2, "line\n\nnext", sp{"line", "\n\n", "next"}},
		{SplitQwen2, "a \n b", sp{"a", " \n", " b"}}, // \s*[\r\n]+ stops at the last newline
		{SplitQwen2, "a \n\t\n  b", sp{"a", " \n\t\n", " ", " b"}},
		{SplitQwen2, "hi!\n\nok", sp{"hi", "!\n\n", "ok"}}, // punctuation takes trailing newlines
		{SplitQwen2, " ,hello", sp{" ,", "hello"}},
		{SplitQwen2, ",hello", sp{",hello"}}, // one non-letter may lead a word
		{SplitQwen2, "\t\tx", sp{"\t", "\tx"}},
		{SplitQwen2, "\nx", sp{"\n", "x"}}, // but not a newline
		{SplitQwen2, "e\u0301t", sp{"e", "\u0301t"}},
		{SplitQwen2, "日本語です", sp{"日本語です"}},
		{SplitQwen2, "👍🏽 ok", sp{"👍🏽", " ok"}},
		{SplitQwen2, "a\xffb", sp{"a", "\xffb"}}, // an invalid byte is "other"
		{SplitQwen2, "x\u00a0y", sp{"x", "\u00a0y"}},
		{SplitQwen2, "<search>q</search>", sp{"<search", ">q", "</", "search", ">"}},
		{SplitLlama3, "12345", sp{"123", "45"}},
		{SplitLlama3, "x1234567y", sp{"x", "123", "456", "7", "y"}},
		{SplitLlama3, "It's 2024!", sp{"It", "'s", " ", "202", "4", "!"}},
		{SplitGPT2, "12345 678", sp{"12345", " 678"}},
		{SplitGPT2, "it's", sp{"it", "'s"}},
		{SplitGPT2, "IT'S", sp{"IT", "'", "S"}}, // case-sensitive in GPT-2
		{SplitGPT2, "hello  world", sp{"hello", " ", " world"}},
		{SplitGPT2, "a\n\nb", sp{"a", "\n", "\n", "b"}},
		{SplitGPT2, ",hello", sp{",", "hello"}},
		{SplitGPT2, " ,hello", sp{" ,", "hello"}},
		{SplitGPT2, "x   ", sp{"x", "   "}},
		{SplitQwen2, "", nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.style)+"/"+tc.text, func(t *testing.T) {
			var got sp
			tc.style.Split(tc.text, func(p string) { got = append(got, p) })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Split(%q) (-want +got):\n%s", tc.text, diff)
			}
			if oracleComparable(tc.text) {
				if diff := cmp.Diff(tc.want, regexSplit(t, tc.style, tc.text)); diff != "" {
					t.Errorf("the regex oracle disagrees with the hand-worked split of %q (-want +regex):\n%s", tc.text, diff)
				}
			}
		})
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range unicodeSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, st := range []SplitStyle{SplitGPT2, SplitQwen2, SplitLlama3} {
			var b strings.Builder
			st.Split(s, func(p string) {
				if p == "" {
					t.Fatalf("%s: empty piece in %q", st, s)
				}
				b.WriteString(p)
			})
			if b.String() != s {
				t.Fatalf("%s: pieces of %q join to %q", st, s, b.String())
			}
		}
	})
}
