package bm25bench

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// TestBenchRealMix times the shared HotpotQA questions over their own
// paragraphs and holds them to the recall gate of TestHotpotQARecall.
func TestBenchRealMix(t *testing.T) {
	path := shareddata.Path(t, RealQuestionsFile)
	rep, err := realMix(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), path, 400, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != "" || rep.Questions != 400 || rep.Passages != 3868 {
		t.Fatalf("skipped %q, %d questions over %d paragraphs; want 400 over 3868", rep.Skipped, rep.Questions, rep.Passages)
	}
	if rep.AgreementTop != 1 || rep.ExhaustiveQueries != 400 {
		t.Errorf("top 10 identical to exhaustive for %.3f of %d questions, want all 400", rep.AgreementTop, rep.ExhaustiveQueries)
	}
	if rep.RecallAll < RealRecallGate || rep.RecallAny < rep.RecallAll {
		t.Errorf("recall: all supporting %.3f (gate %.2f), any %.3f", rep.RecallAll, RealRecallGate, rep.RecallAny)
	}
	t.Logf("real mix: %.0f queries/s single thread, %.0f per CPU-second; both supporting in top 10 for %.1f%%",
		rep.QPSSingle, rep.QPSSingleCPU, 100*rep.RecallAll)
}
