package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// syntheticCorpus yields n deterministic sentences mixing English words,
// numbers, protocol tags, accents, CJK and emoji.
func syntheticCorpus(n int) []string {
	words := strings.Fields(`the a of and to in is was that for on with as by at from
		search answer information question paper river city born director film who which
		when where café naïve 日本 東京 😀 can't it's 1999 2024 3.14 -- , . ! ? (x) "q"`)
	var out []string
	seed := uint32(1)
	for range n {
		var b strings.Builder
		k := 5 + int(seed%11)
		for j := range k {
			seed = seed*1664525 + 1013904223
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[int(seed>>8)%len(words)])
		}
		if seed%7 == 0 {
			b.WriteString(" <search>the river city</search>")
		}
		b.WriteString(".\n")
		out = append(out, b.String())
	}
	return out
}

func trainOpts() TrainOptions {
	return TrainOptions{SpecialTokens: DefaultSpecialTokens(), AddedTokens: ProtocolTags()}
}

func trainedBPE(tb testing.TB) *BPE {
	tb.Helper()
	tok, err := Train(slices.Values(syntheticCorpus(2000)), 400, trainOpts())
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func jsonOf(tb testing.TB, t *BPE) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := t.WriteJSON(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func TestTrainDeterministic(t *testing.T) {
	t.Parallel()
	corpus := syntheticCorpus(2000)
	a := trainedBPE(t)
	// The same texts in another order give the same tokenizer, byte for byte.
	rev := slices.Clone(corpus)
	slices.Reverse(rev)
	b, err := Train(slices.Values(rev), 400, trainOpts())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(jsonOf(t, a), jsonOf(t, b)) {
		t.Error("training on reordered texts changed the tokenizer")
	}
	if a.VocabSize() != 400 {
		t.Errorf("vocab size %d, want 400", a.VocabSize())
	}
}

func TestTrainTies(t *testing.T) {
	t.Parallel()
	// "ab" and "cd" occur equally often: the lexically smaller pair merges
	// first, then "cd".
	tok, err := Train(slices.Values([]string{"cd ab", "ab cd"}), 256+2, TrainOptions{Split: SplitGPT2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tok.rules {
		got = append(got, tok.raw[r[0]]+"|"+tok.raw[r[1]])
	}
	// Pieces "cd", " ab", "ab", " cd": a|b and c|d occur twice, " |a" and
	// " |c" once; the tie of two goes bytewise, "a" < "c".
	if diff := cmp.Diff([]string{"a|b", "c|d"}, got); diff != "" {
		t.Errorf("merge order (-want +got):\n%s", diff)
	}
	// With MinFrequency 3 no pair qualifies: training stops at the bytes.
	few, err := Train(slices.Values([]string{"cd ab", "ab cd"}), 300, TrainOptions{Split: SplitGPT2, MinFrequency: 3})
	if err != nil || few.VocabSize() != 256 {
		t.Errorf("MinFrequency 3: vocab %d, err %v", few.VocabSize(), err)
	}
}

func TestTrainSaveLoad(t *testing.T) {
	t.Parallel()
	tok := trainedBPE(t)
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	back := loaded.(*BPE)
	if !bytes.Equal(jsonOf(t, tok), jsonOf(t, back)) {
		t.Error("Save then Load then WriteJSON changed the file")
	}
	if back.BOS() != 0 || back.EOS() != 1 {
		t.Errorf("BOS %d EOS %d, want 0 1", back.BOS(), back.EOS())
	}
	var doc struct {
		Model struct {
			Vocab  map[string]int `json:"vocab"`
			Merges [][]string     `json:"merges"`
		} `json:"model"`
	}
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Model.Vocab) != 400 || len(doc.Model.Merges) != 400-256-3-8 {
		t.Errorf("file has %d vocab, %d merges", len(doc.Model.Vocab), len(doc.Model.Merges))
	}
	for _, s := range append(unicodeSamples, syntheticCorpus(50)...) {
		if diff := cmp.Diff(tok.Encode(s), back.Encode(s)); diff != "" {
			t.Errorf("loaded tokenizer encodes %q differently:\n%s", s, diff)
		}
		if got := back.Decode(back.Encode(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

func TestTrainAddedTokens(t *testing.T) {
	t.Parallel()
	tok := trainedBPE(t)
	for _, tag := range append(ProtocolTags(), DefaultSpecialTokens()...) {
		ids := tok.Encode("x" + tag + "y")
		id, ok := tok.TokenID(tag)
		if !ok || len(ids) != 3 || ids[1] != id {
			t.Errorf("%s: Encode gave %v, id %d %v", tag, ids, id, ok)
		}
	}
	if !tok.IsSpecial(0) || tok.IsSpecial(3) {
		t.Error("special flags: <|bos|> should be special, <search> not")
	}
	// A frequent word is one token after training.
	if ids := tok.Encode(" the"); len(ids) != 1 {
		t.Errorf("' the' is %d tokens", len(ids))
	}
}

func TestTrainErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		vocab int
		opts  TrainOptions
	}{
		{"too small", 100, TrainOptions{}},
		{"repeated token", 300, TrainOptions{SpecialTokens: []string{"<a>", "<a>"}}},
		{"empty token", 300, TrainOptions{AddedTokens: []string{""}}},
		{"bad split", 300, TrainOptions{Split: "bert"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Train(slices.Values([]string{"x"}), tc.vocab, tc.opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

// hotpotParagraphs yields the paragraph texts of the shared HotpotQA file
// (about 4 MB of JSON), for the benchmarks.
func hotpotParagraphs(tb testing.TB) []string {
	tb.Helper()
	data, err := os.ReadFile(shareddata.Path(tb, "hotpotqa/dev_distractor_400.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		var q struct {
			Contexts []struct {
				Text string `json:"paragraph_text"`
			} `json:"contexts"`
		}
		if json.Unmarshal(line, &q) == nil {
			for _, c := range q.Contexts {
				out = append(out, c.Text)
			}
		}
	}
	return out
}

func totalLen(texts []string) int64 {
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	return int64(n)
}

func BenchmarkTrain(b *testing.B) {
	texts := hotpotParagraphs(b)
	b.SetBytes(totalLen(texts))
	cpu0, n := processCPU(), 0
	for b.Loop() {
		if _, err := Train(slices.Values(texts), 8192, trainOpts()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportCPURate(b, cpu0, n*int(totalLen(texts)))
}

// reportCPURate adds MB per CPU-second (all goroutines, GC included) since
// cpu0, when the platform can tell.
func reportCPURate(b *testing.B, cpu0 time.Duration, bytes int) {
	if d := processCPU() - cpu0; d > 0 {
		b.ReportMetric(float64(bytes)/1e6/d.Seconds(), "MB/cpu-s")
	}
}

func BenchmarkEncode(b *testing.B) {
	texts := hotpotParagraphs(b)
	tok, err := Train(slices.Values(texts), 8192, trainOpts())
	if err != nil {
		b.Fatal(err)
	}
	llama := aidreams(b)
	for _, bc := range []struct {
		name string
		tok  Tokenizer
	}{{"bytelevel-8k", tok}, {"llama2c-512", llama}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(totalLen(texts))
			cpu0, n := processCPU(), 0
			for b.Loop() {
				for _, s := range texts {
					bc.tok.Encode(s)
				}
				n++
			}
			reportCPURate(b, cpu0, n*int(totalLen(texts)))
		})
	}
}
