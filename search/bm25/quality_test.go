package bm25

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// TestHotpotQARecall is the quality gate: over the union of the HotpotQA
// dev paragraphs (deduplicated by title and text), both supporting
// paragraphs must be in the top 10 for at least 78% of the questions
// (plain BM25 reference: 79.7%).
func TestHotpotQARecall(t *testing.T) {
	path := shareddata.Path(t, "hotpotqa/dev_distractor_400.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type question struct {
		text string
		gold []string
	}
	var (
		qs    []question
		ps    []corpus.Passage
		index = map[string]string{} // title\x00text -> passage id
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Question string `json:"question_text"`
			Contexts []struct {
				Title      string `json:"title"`
				Text       string `json:"paragraph_text"`
				Supporting bool   `json:"is_supporting"`
			} `json:"contexts"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s line %d: %v", path, line, err)
		}
		q := question{text: rec.Question}
		for _, c := range rec.Contexts {
			key := c.Title + "\x00" + c.Text
			id, ok := index[key]
			if !ok {
				id = strconv.Itoa(len(ps))
				index[key] = id
				ps = append(ps, corpus.Passage{ID: id, Title: c.Title, Text: c.Text})
			}
			if c.Supporting {
				q.gold = append(q.gold, id)
			}
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3868 {
		t.Errorf("%d unique paragraphs, want 3868", len(ps))
	}
	for _, tc := range []struct {
		name string
		cfg  AnalyzerConfig
		gate float64
	}{
		{"default", AnalyzerConfig{}, 0.78},
		{"stem", AnalyzerConfig{Stem: true}, 0},
		{"stem+stopwords", AnalyzerConfig{Stem: true, Stopwords: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{Analyzer: tc.cfg}); err != nil {
				t.Fatal(err)
			}
			ix, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			texts := make([]string, len(qs))
			for i, q := range qs {
				texts[i] = q.text
			}
			res, err := ix.SearchBatch(context.Background(), texts, 10)
			if err != nil {
				t.Fatal(err)
			}
			both, one := 0, 0
			for i, q := range qs {
				found := 0
				for _, g := range q.gold {
					for _, h := range res[i] {
						if ix.ID(h.Doc) == g {
							found++
							break
						}
					}
				}
				if found == len(q.gold) {
					both++
				}
				if found > 0 {
					one++
				}
			}
			r := float64(both) / float64(len(qs))
			t.Logf("%s: both supporting paragraphs in top 10 for %.1f%% of %d questions; at least one for %.1f%%",
				tc.name, 100*r, len(qs), 100*float64(one)/float64(len(qs)))
			if r < tc.gate {
				t.Errorf("recall@10 (both) = %.3f, below the %.2f gate", r, tc.gate)
			}
		})
	}
}
