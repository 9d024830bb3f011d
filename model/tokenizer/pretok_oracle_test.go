package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/google/go-cmp/cmp"
)

// regexSplit runs the style's regex with regexp2, a backtracking engine with
// lookahead: the oracle the hand-written scanners must agree with. It is
// far too slow to tokenize with, which is why the scanners exist.
func regexSplit(tb testing.TB, s SplitStyle, text string) []string {
	tb.Helper()
	re := regexp2.MustCompile(s.Pattern(), regexp2.None)
	var out []string
	m, err := re.FindStringMatch(text)
	for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
		out = append(out, m.String())
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// oracleComparable leaves out what the oracle treats differently from the
// engines behind tokenizers: invalid UTF-8, and "ſ", which Unicode case
// folding (Rust regex, Oniguruma) makes an "s" but .NET does not.
func oracleComparable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 'ſ')
}

// oracleInputs mixes the characters where the patterns' alternatives meet.
func oracleInputs() []string {
	atoms := []string{"a", "Z", "é", "日", "1", "٣", "²", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000",
		"'", "'s", "'LL", "'re", "!", ",", "-", "😀", "\u0301", "$", "<", ">", "_"}
	out := append([]string(nil), unicodeSamples...)
	seed := uint32(7)
	for range 1500 {
		var b strings.Builder
		n := 1 + int(seed%9)
		for range n {
			seed = seed*1664525 + 1013904223
			b.WriteString(atoms[int(seed>>10)%len(atoms)])
		}
		out = append(out, b.String())
	}
	return out
}

func TestSplitMatchesRegexOracle(t *testing.T) {
	t.Parallel()
	for _, st := range []SplitStyle{SplitGPT2, SplitQwen2, SplitLlama3} {
		t.Run(string(st), func(t *testing.T) {
			for _, s := range oracleInputs() {
				var got []string
				st.Split(s, func(p string) { got = append(got, p) })
				if diff := cmp.Diff(regexSplit(t, st, s), got); diff != "" {
					t.Fatalf("Split(%q) differs from the regex (-regex +scanner):\n%s", s, diff)
				}
			}
		})
	}
}

func FuzzSplitOracle(f *testing.F) {
	for _, s := range unicodeSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !oracleComparable(s) {
			return
		}
		for _, st := range []SplitStyle{SplitGPT2, SplitQwen2, SplitLlama3} {
			var got []string
			st.Split(s, func(p string) { got = append(got, p) })
			if diff := cmp.Diff(regexSplit(t, st, s), got); diff != "" {
				t.Fatalf("%s: Split(%q) differs from the regex (-regex +scanner):\n%s", st, s, diff)
			}
		}
	})
}
