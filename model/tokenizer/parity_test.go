package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTokenizersJSParity compares Encode with the ids Hugging Face's
// tokenizers.js gives for the same tokenizer.json files (see
// testdata/tokenizersjs/README.md).
func TestTokenizersJSParity(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "tokenizersjs")
	data, err := os.ReadFile(filepath.Join(dir, "ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx map[string]json.RawMessage
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	var texts []string
	if err := json.Unmarshal(fx["texts"], &texts); err != nil {
		t.Fatal(err)
	}
	for _, st := range []SplitStyle{SplitQwen2, SplitLlama3, SplitGPT2} {
		t.Run(string(st), func(t *testing.T) {
			var want [][]int
			if err := json.Unmarshal(fx[string(st)], &want); err != nil || len(want) != len(texts) {
				t.Fatalf("fixture ids for %s: %v (%d for %d texts)", st, err, len(want), len(texts))
			}
			tok, err := Load(filepath.Join(dir, string(st)+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if tok.(*BPE).Split() != st {
				t.Fatalf("split style %s", tok.(*BPE).Split())
			}
			for i, s := range texts {
				got := tok.Encode(s)
				if len(got) == 0 && len(want[i]) == 0 {
					continue
				}
				if diff := cmp.Diff(want[i], got); diff != "" {
					t.Errorf("Encode(%q) (-tokenizers.js +sleuth):\n%s", s, diff)
				}
				if d := tok.Decode(got); d != s {
					t.Errorf("Decode(Encode(%q)) = %q", s, d)
				}
			}
			t.Logf("%d texts agree", len(texts))
		})
	}
}
