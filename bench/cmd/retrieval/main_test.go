package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr string
	}{
		{"defaults", nil, config{Passages: 200_000, Queries: 5000, K: 10, Seed: 1, Rounds: 3, Overlap: 100, Budget: 20 * time.Second}, ""},
		{"overlap capped", []string{"-queries", "50"}, config{Passages: 200_000, Queries: 50, K: 10, Seed: 1, Rounds: 3, Overlap: 50, Budget: 20 * time.Second}, ""},
		{"zero k", []string{"-k", "0"}, config{}, "must be positive"},
		{"zero budget", []string{"-budget", "0s"}, config{}, "must be positive"},
		{"stray arg", []string{"extra"}, config{}, "unexpected arguments"},
		{"mid mix", []string{"-mix", "mid"}, config{Passages: 200_000, Mixes: []string{"mid"}, Queries: 5000, K: 10, Seed: 1, Rounds: 3, Overlap: 100, Budget: 20 * time.Second}, ""},
		{"three mixes", []string{"-mix", "head,content,mid"}, config{Passages: 200_000, Mixes: []string{"head", "content", "mid"}, Queries: 5000, K: 10, Seed: 1, Rounds: 3, Overlap: 100, Budget: 20 * time.Second}, ""},
		{"unknown mix", []string{"-mix", "tail"}, config{}, "query mix"},
		{"unknown mix in a list", []string{"-mix", "head,tail"}, config{}, "query mix"},
		{"mix twice", []string{"-mix", "mid,head,mid"}, config{}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, o.cfg); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFillOverlapPerMix(t *testing.T) {
	rs := []engineResult{
		{Engine: "sleuth", Mixes: []mixResult{
			{Mix: "head", serveResult: serveResult{TopK: [][]string{{"1", "2"}}}},
			{Mix: "mid", serveResult: serveResult{TopK: [][]string{{"3", "4"}}}},
		}},
		{Engine: "bleve", Mixes: []mixResult{
			{Mix: "head", serveResult: serveResult{TopK: [][]string{{"1", "9"}}}},
			{Mix: "mid", serveResult: serveResult{TopK: [][]string{{"3", "4"}}}},
		}},
		{Engine: "fts5", Error: "serve failed on its first mix"},
	}
	fillOverlap(rs, 10)
	for _, c := range []struct {
		engine, mix int
		want        float64
	}{{0, 0, 1}, {0, 1, 1}, {1, 0, 0.5}, {1, 1, 1}} {
		m := rs[c.engine].Mixes[c.mix]
		if m.TopKOverlap != c.want {
			t.Errorf("%s on %s: overlap %v, want %v", rs[c.engine].Engine, m.Mix, m.TopKOverlap, c.want)
		}
		if m.TopK != nil {
			t.Errorf("%s on %s: top-k lists kept in the report", rs[c.engine].Engine, m.Mix)
		}
	}
}

func TestOverlap(t *testing.T) {
	a := [][]string{{"1", "2"}, {}, {"3", "4", "5", "6"}}
	b := [][]string{{"2", "9"}, {"7"}, {"3", "4", "5", "6"}}
	if got, want := overlap(a, b, 10), (0.5+1.0)/2; got != want {
		t.Errorf("overlap = %v, want %v", got, want)
	}
	if got := overlap(nil, b, 10); got != 0 {
		t.Errorf("overlap with no reference = %v, want 0", got)
	}
}

func TestMedianAndRatios(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	serve := func(mix string, qps float64) mixResult {
		return mixResult{Mix: mix, serveResult: serveResult{SingleQPS: qps}}
	}
	rs := []engineResult{
		{Engine: "sleuth", IndexBytes: 100, buildResult: buildResult{BuildSeconds: 2}, Mixes: []mixResult{serve("head", 1000), serve("mid", 3000)}},
		{Engine: "bleve", IndexBytes: 400, buildResult: buildResult{BuildSeconds: 8}, Mixes: []mixResult{serve("head", 100), serve("mid", 600)}},
		{Engine: "fts5", Error: "boom"},
	}
	want := []ratio{
		{Mix: "head", Of: "sleuth", To: "bleve", Build: 0.25, Size: 0.25, SingleQPS: 10},
		{Mix: "mid", Of: "sleuth", To: "bleve", Build: 0.25, Size: 0.25, SingleQPS: 5},
	}
	if diff := cmp.Diff(want, ratios(rs)); diff != "" {
		t.Errorf("ratios (-want +got):\n%s", diff)
	}
}
