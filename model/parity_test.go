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
			orig, err := LoadLlama2C(filepath.Join(dir, ref.Model))
			if err != nil {
				t.Fatal(err)
			}
			// The same model written as an HF checkpoint (q/k rows permuted
			// to rotate-half RoPE) and read back must match too.
			hfDir := t.TempDir()
			if err := orig.Save(hfDir); err != nil {
				t.Fatal(err)
			}
			hf, err := Load(hfDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*Model{orig, hf} {
				checkParity(t, m, ref)
			}
		})
	}
}

func checkParity(t *testing.T, m *Model, ref greedyRef) {
	t.Helper()
	logits, err := m.Logits(ref.Prompt)
	if err != nil {
		t.Fatal(err)
	}
	maxDiff := 0.0
	for i := range ref.Logits {
		maxDiff = max(maxDiff, math.Abs(float64(logits[i]-ref.Logits[i])))
	}
	t.Logf("%s: max |logit - reference| = %.2g (tolerance 1e-4)", m.Config.RopeLayoutName(), maxDiff)
	if maxDiff > 1e-4 {
		t.Errorf("logits differ by %g > 1e-4", maxDiff)
	}
	// Two greedy samples run as one batch of two rows.
	seqs, err := m.Generate(context.Background(), [][]int{ref.Prompt}, GenerateOptions{MaxTokens: len(ref.Greedy), N: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range seqs {
		if diff := cmp.Diff(ref.Greedy, s.Tokens); diff != "" {
			t.Errorf("greedy ids (-want +got):\n%s", diff)
		}
	}
}
