package bert

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type reference struct {
	Torch     string `json:"torch"`
	Sequences []struct {
		IDs    []int     `json:"ids"`
		Hidden []float32 `json:"hidden"`
		Mean   []float32 `json:"mean"`
		CLS    []float32 `json:"cls"`
	} `json:"sequences"`
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestParityWithTorch compares the engine's forward with an independent
// PyTorch forward of the same random BERT (testdata/gen_reference.py).
func TestParityWithTorch(t *testing.T) {
	t.Parallel()
	const tol = 1e-4
	b, err := os.ReadFile("testdata/tiny/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	enc, err := LoadEncoder("testdata/tiny")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ref.Sequences {
		hs, err := enc.Model.Forward(s.IDs)
		if err != nil {
			t.Fatal(err)
		}
		mean := &Encoder{Model: enc.Model, Pooling: Mean}
		cls := &Encoder{Model: enc.Model, Pooling: CLS}
		mv, _ := mean.EmbedIDs(s.IDs)
		cv, _ := cls.EmbedIDs(s.IDs)
		dh, dm, dc := maxDiff(hs, s.Hidden), maxDiff(mv, s.Mean), maxDiff(cv, s.CLS)
		t.Logf("sequence %d (%d tokens): max |Δ| hidden %.2e, mean %.2e, cls %.2e (tolerance %.0e, torch %s)", i, len(s.IDs), dh, dm, dc, tol, ref.Torch)
		if dh > tol || dm > tol || dc > tol {
			t.Errorf("sequence %d differs from torch beyond %.0e", i, tol)
		}
	}
	// The four sequences as one packed batch match torch too.
	var seqs [][]int
	for _, s := range ref.Sequences {
		seqs = append(seqs, s.IDs)
	}
	batch, err := enc.Model.ForwardBatch(seqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ref.Sequences {
		if d := maxDiff(batch[i], s.Hidden); d > tol {
			t.Errorf("sequence %d in a batch differs from torch by %.2e", i, d)
		}
	}
	// The comparison must be able to fail: a wrong GELU moves the outputs.
	saved := enc.Model.Layers[0].Up.B[0]
	enc.Model.Layers[0].Up.B[0] += 0.01
	hs, _ := enc.Model.Forward(ref.Sequences[1].IDs)
	enc.Model.Layers[0].Up.B[0] = saved
	if maxDiff(hs, ref.Sequences[1].Hidden) < tol {
		t.Error("a perturbed weight still matches torch: the check is blind")
	}
}

func TestEncoderEmbed(t *testing.T) {
	t.Parallel()
	enc, err := LoadEncoder("testdata/tiny")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := enc.Embed(context.Background(), []string{"query: who wrote hamlet?", "passage: the capital of france is paris."})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		var s float64
		for _, a := range v {
			s += float64(a) * float64(a)
		}
		if len(v) != 32 || math.Abs(s-1) > 1e-5 {
			t.Errorf("vector %d: dimension %d, norm² %v", i, len(v), s)
		}
	}
	// Embed is the tokenizer then EmbedIDs (batched: equal to rounding).
	want, _ := enc.EmbedIDs(enc.Tokenizer.Encode("query: who wrote hamlet?", 512))
	if d := maxDiff(want, vs[0]); d > 1e-5 {
		t.Errorf("Embed's first vector differs from EmbedIDs by %.2e", d)
	}
	if _, err := enc.Model.Forward(make([]int, 41)); err == nil {
		t.Error("41 tokens accepted by a model of 40 positions")
	}
	if _, err := enc.Model.Forward([]int{2, 64}); err == nil {
		t.Error("an id outside the vocabulary accepted")
	}
}

// TestForwardBatch checks that a packed batch gives each sequence the
// states it gets alone: attention must not cross sequences, and positions
// restart at each one. The batch is tall enough (> 256 rows) that its
// matmuls take the packed gemm path while the single sequences take the
// dot-product path, so equality is to rounding, not bitwise.
func TestForwardBatch(t *testing.T) {
	t.Parallel()
	enc, err := LoadEncoder("testdata/tiny")
	if err != nil {
		t.Fatal(err)
	}
	m := enc.Model
	r := rand.New(rand.NewPCG(3, 4))
	var seqs [][]int
	total := 0
	for _, n := range []int{1, 40, 7, 33, 2, 40, 39, 17, 40, 38, 12} {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = r.IntN(m.Config.Vocab)
		}
		seqs = append(seqs, ids)
		total += n
	}
	if total <= 256 {
		t.Fatalf("batch of %d tokens does not reach the gemm path", total)
	}
	got, err := m.ForwardBatch(seqs)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-5
	for i, ids := range seqs {
		want, err := m.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got[i], want); d > tol {
			t.Errorf("sequence %d (%d tokens): batched differs from alone by %.2e", i, len(ids), d)
		}
	}
	vs, err := enc.EmbedBatch(seqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, ids := range seqs {
		want, _ := enc.EmbedIDs(ids)
		if d := maxDiff(vs[i], want); d > tol {
			t.Errorf("sequence %d: batched embedding differs from alone by %.2e", i, d)
		}
	}
	if _, err := m.ForwardBatch([][]int{{2, 3}, {}}); err == nil {
		t.Error("an empty sequence in a batch was accepted")
	}
}

func TestTokenizer(t *testing.T) {
	t.Parallel()
	tok, err := LoadTokenizer("testdata/tiny/vocab.txt", true)
	if err != nil {
		t.Fatal(err)
	}
	// Ids by line of vocab.txt: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, query 5, : 6, passage 7,
	// the 8, capital 9, of 10, france 11, is 12, paris 13, who 14, wrote 15, hamlet 16,
	// ##s 17, ##ing 18, play 19, un 20, ##aff 21, ##able 22, a 23, . 24, , 25, ? 26, é 27, cafe 28.
	for _, tc := range []struct {
		text string
		max  int
		want []int
	}{
		{"query: Who wrote Hamlet?", 512, []int{2, 5, 6, 14, 15, 16, 26, 3}},
		{"plays playing", 512, []int{2, 19, 17, 19, 18, 3}},
		{"unaffable", 512, []int{2, 20, 21, 22, 3}},
		{"Café  \t PARIS,the", 512, []int{2, 28, 13, 25, 8, 3}}, // accents stripped, punctuation split
		{"xyz playz", 512, []int{2, 1, 1, 3}},                   // no piece fits: [UNK] for the word
		{"the capital of france", 4, []int{2, 8, 9, 3}},         // cut, [SEP] kept
		{"", 512, []int{2, 3}},
		{"the\u0000 capi\u200btal", 512, []int{2, 8, 9, 3}}, // control and format characters dropped, as BertTokenizer does
	} {
		if diff := cmp.Diff(tc.want, tok.Encode(tc.text, tc.max)); diff != "" {
			t.Errorf("Encode(%q) (-want +got):\n%s", tc.text, diff)
		}
	}
	cased, _ := LoadTokenizer("testdata/tiny/vocab.txt", false)
	if got := cased.Encode("Paris", 512); !cmp.Equal(got, []int{2, 1, 3}) {
		t.Errorf("cased Encode(Paris) = %v, want [UNK]", got)
	}
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	ts, err := readSafetensors("testdata/tiny/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	b, _ := os.ReadFile("testdata/tiny/config.json")
	json.Unmarshal(b, &c)
	delete(ts, "encoder.layer.1.output.dense.bias")
	if _, err := FromTensors(c, ts); err == nil {
		t.Error("a missing tensor was accepted")
	}
	c.HiddenAct = "relu"
	if _, err := FromTensors(c, ts); err == nil {
		t.Error("hidden_act relu accepted")
	}
}

func FuzzParseSafetensors(f *testing.F) {
	b, _ := os.ReadFile("testdata/tiny/model.safetensors")
	f.Add(b[:min(len(b), 4096)])
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F16\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		ts, err := parseSafetensors(data)
		if err != nil {
			return
		}
		for name, tt := range ts {
			if len(tt.Data) != prod(tt.Shape) {
				t.Fatalf("%s: %d values for shape %v", name, len(tt.Data), tt.Shape)
			}
		}
	})
}

func FuzzEncode(f *testing.F) {
	tok, err := LoadTokenizer("testdata/tiny/vocab.txt", true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("query: Who wrote Hamlet?", 16)
	f.Add("Café unaffable 中文", 3)
	f.Fuzz(func(t *testing.T, text string, maxLen int) {
		if maxLen < 2 || maxLen > 1024 || len(text) > 4096 {
			return
		}
		ids := tok.Encode(text, maxLen)
		if len(ids) < 2 || len(ids) > maxLen || ids[0] != tok.cls || ids[len(ids)-1] != tok.sep {
			t.Fatalf("Encode(%q, %d) = %v", text, maxLen, ids)
		}
	})
}
