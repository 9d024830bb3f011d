package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/search/bm25/bm25bench"
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
	var rep bm25bench.Report
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
	if real.Mix != bm25bench.MixReal || !strings.Contains(real.Skipped, missing) {
		t.Errorf("real mix %q skipped for %q, want the missing file named", real.Mix, real.Skipped)
	}
	if rep.RSSBytes <= 0 || rep.RSSAnonBytes <= 0 || rep.RSSFileBytes <= 0 || rep.OpenRSS <= 0 {
		t.Errorf("memory figures missing: open %d, serving %d = %d anonymous + %d file", rep.OpenRSS, rep.RSSBytes, rep.RSSAnonBytes, rep.RSSFileBytes)
	}
}
