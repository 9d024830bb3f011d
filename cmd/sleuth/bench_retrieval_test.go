package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// TestBenchRetrievalCmd runs `sleuth bench retrieval` small, on a Zipf mix
// and a missing real-question file: every query agrees with exhaustive
// scoring, the serving memory is split into its two parts, and the real
// mix is skipped with the reason rather than failing the run.
func TestBenchRetrievalCmd(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-questions.jsonl")
	out, err := runCmd(t, "bench", "retrieval", "--passages", "3000", "--queries", "60", "--exhaustive", "0",
		"--mix", "mid,real", "--questions", missing, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep retrievalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if len(rep.Mixes) != 2 {
		t.Fatalf("%d mixes reported, want 2: %+v", len(rep.Mixes), rep.Mixes)
	}
	mid, real := rep.Mixes[0], rep.Mixes[1]
	if mid.Mix != "mid" || mid.ExhaustiveQueries != 60 || mid.AgreementTop != 1 {
		t.Errorf("mid mix: %s, %d checked, agreement %v; want mid, 60, 1", mid.Mix, mid.ExhaustiveQueries, mid.AgreementTop)
	}
	if real.Mix != mixReal || !strings.Contains(real.Skipped, missing) {
		t.Errorf("real mix %q skipped for %q, want the missing file named", real.Mix, real.Skipped)
	}
	if rep.RSSBytes <= 0 || rep.RSSAnonBytes <= 0 || rep.RSSFileBytes <= 0 || rep.OpenRSS <= 0 {
		t.Errorf("memory figures missing: open %d, serving %d = %d anonymous + %d file", rep.OpenRSS, rep.RSSBytes, rep.RSSAnonBytes, rep.RSSFileBytes)
	}
}

// TestBenchRealMix times the shared HotpotQA questions over their own
// paragraphs and holds them to the recall gate of TestHotpotQARecall.
func TestBenchRealMix(t *testing.T) {
	path := shareddata.Path(t, realQuestionsFile)
	rep, err := benchReal(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), path, 400, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != "" || rep.Questions != 400 || rep.Passages != 3868 {
		t.Fatalf("skipped %q, %d questions over %d paragraphs; want 400 over 3868", rep.Skipped, rep.Questions, rep.Passages)
	}
	if rep.AgreementTop != 1 || rep.ExhaustiveQueries != 400 {
		t.Errorf("top 10 identical to exhaustive for %.3f of %d questions, want all 400", rep.AgreementTop, rep.ExhaustiveQueries)
	}
	if rep.RecallAll < realRecallGate || rep.RecallAny < rep.RecallAll {
		t.Errorf("recall: all supporting %.3f (gate %.2f), any %.3f", rep.RecallAll, realRecallGate, rep.RecallAny)
	}
	t.Logf("real mix: %.0f queries/s single thread, %.0f per CPU-second; both supporting in top 10 for %.1f%%",
		rep.QPSSingle, rep.QPSSingleCPU, 100*rep.RecallAll)
}
