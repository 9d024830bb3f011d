package model

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

type greedyRef struct {
	Model  string    `json:"model"`
	Prompt []int     `json:"prompt_ids"`
	Greedy []int     `json:"greedy_ids"`
	Logits []float32 `json:"logits_after_prompt"`
}

func readGreedyRefs(t *testing.T) (dir string, refs []greedyRef) {
	t.Helper()
	path := shareddata.Path(t, "models/reference_greedy.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r greedyRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	return filepath.Dir(path), refs
}

// TestParityLlama2C checks the loader and inference forward against logits
// and greedy ids from an independent implementation.
func TestParityLlama2C(t *testing.T) {
	dir, refs := readGreedyRefs(t)
	for _, ref := range refs {
		t.Run(ref.Model, func(t *testing.T) {
			m, err := LoadLlama2C(filepath.Join(dir, ref.Model))
			if err != nil {
				t.Fatal(err)
			}
			logits, err := m.Logits(ref.Prompt)
			if err != nil {
				t.Fatal(err)
			}
			maxDiff := 0.0
			for i := range ref.Logits {
				maxDiff = max(maxDiff, math.Abs(float64(logits[i]-ref.Logits[i])))
			}
			t.Logf("max |logit - reference| = %.2g (tolerance 1e-4)", maxDiff)
			if maxDiff > 1e-4 {
				t.Errorf("logits differ by %g > 1e-4", maxDiff)
			}
			seqs, err := m.Generate(context.Background(), [][]int{ref.Prompt}, GenerateOptions{MaxTokens: len(ref.Greedy)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ref.Greedy, seqs[0].Tokens); diff != "" {
				t.Errorf("greedy ids (-want +got):\n%s", diff)
			}
		})
	}
}
