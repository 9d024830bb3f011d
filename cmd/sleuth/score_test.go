package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScoreCmdOfficial runs `sleuth score --json` on the eval fixtures and
// requires EM and F1 equal to the official HotpotQA script's, exactly.
func TestScoreCmdOfficial(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "eval", "testdata", "score")
	for _, tc := range []struct{ data, preds, expected string }{
		{"questions.jsonl", "predictions.jsonl", "expected.json"},
		{"hotpot.json", "predictions_hotpot.jsonl", "expected_hotpot.json"},
	} {
		t.Run(tc.data, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newScoreCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs([]string{"--data", filepath.Join(dir, tc.data), "--predictions", filepath.Join(dir, tc.preds), "--json", "--resamples", "20"})
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			type figures struct {
				Missing int     `json:"missing"`
				EM      float64 `json:"em"`
				F1      float64 `json:"f1"`
				CoverEM float64 `json:"cover_em"`
			}
			var got, want figures
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%v in %s", err, out.String())
			}
			b, err := os.ReadFile(filepath.Join(dir, tc.expected))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("sleuth score %+v, official %+v", got, want)
			}
		})
	}
}

func TestScoreCmdTable(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "eval", "testdata", "score")
	var out bytes.Buffer
	cmd := newScoreCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--data", filepath.Join(dir, "hotpot.json"), "--predictions", filepath.Join(dir, "predictions_hotpot.jsonl")})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 questions, 3 predicted, 1 missing", "EM", "evidence F1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	cmd = newScoreCmd()
	cmd.SetArgs([]string{"--data", filepath.Join(dir, "hotpot.json")})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("err = %v, want a missing-flag error", err)
	}
}
