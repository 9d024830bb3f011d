package corpus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// readAllFile reads one file to the end and returns its passages.
func readAllFile(t *testing.T, path string, opt Options) ([]Passage, *Reader) {
	t.Helper()
	r, err := Open(path, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer r.Close()
	var ps []Passage
	for {
		p, err := r.Next()
		if err != nil {
			if err.Error() == "EOF" {
				return ps, r
			}
			t.Fatalf("Next: %v", err)
		}
		ps = append(ps, p)
	}
}

func TestSharedCorpora(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rel    string
		format Format
		want   int
		first  Passage
	}{
		{"corpus/wiki18_sample_1000.jsonl", FormatSearchR1, 1000, Passage{ID: "0", Title: "Evan Morris"}},
		{"corpus/2wiki_corpus_6119.json", FormatJSONArray, 6119, Passage{ID: "0", Title: "Teutberga"}},
		{"hotpotqa/dev_distractor_400.jsonl", FormatHotpotQA, 3868, Passage{Title: "Meet Corliss Archer"}},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			t.Parallel()
			path := shareddata.Path(t, tt.rel)
			ps, r := readAllFile(t, path, Options{})
			if r.Format() != tt.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tt.format)
			}
			if len(ps) != tt.want {
				t.Errorf("read %d passages, want %d", len(ps), tt.want)
			}
			if len(ps) == 0 {
				return
			}
			if tt.first.ID != "" && ps[0].ID != tt.first.ID {
				t.Errorf("first id %q, want %q", ps[0].ID, tt.first.ID)
			}
			if ps[0].Title != tt.first.Title {
				t.Errorf("first title %q, want %q", ps[0].Title, tt.first.Title)
			}
			ids := map[string]bool{}
			for _, p := range ps {
				if p.ID == "" || p.Text == "" || ids[p.ID] {
					t.Fatalf("bad or duplicate passage %+v", p)
				}
				ids[p.ID] = true
			}
		})
	}
}

// TestSharedHotpotGold checks that every gold paragraph of every question
// is in the corpus under the id a question loader would compute.
func TestSharedHotpotGold(t *testing.T) {
	t.Parallel()
	path := shareddata.Path(t, "hotpotqa/dev_distractor_400.jsonl")
	ids := map[string]bool{}
	if _, _, err := ReadAll(context.Background(), []string{path}, Options{}, func(p Passage) error {
		ids[p.ID] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	questions, gold := 0, 0
	for {
		line, err := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var q struct {
				Contexts []struct {
					Title         string `json:"title"`
					ParagraphText string `json:"paragraph_text"`
					IsSupporting  bool   `json:"is_supporting"`
				} `json:"contexts"`
			}
			if err := json.Unmarshal(line, &q); err != nil {
				t.Fatal(err)
			}
			questions++
			for _, c := range q.Contexts {
				if c.IsSupporting {
					gold++
					if id := ContentID(c.Title, c.ParagraphText); !ids[id] {
						t.Errorf("gold paragraph %q (%s) not in corpus", c.Title, id)
					}
				}
			}
		}
		if err != nil {
			break
		}
	}
	if questions != 400 || gold < 800 {
		t.Errorf("read %d questions with %d gold paragraphs, want 400 and >= 800", questions, gold)
	}
}

// TestSharedEveryFile opens every JSON, JSONL and Parquet file under the
// shared data: each must read cleanly or be refused with a clear error.
func TestSharedEveryFile(t *testing.T) {
	t.Parallel()
	dir := shareddata.Path(t, ".")
	questionFiles := map[string]bool{
		"qa/searchr1_bamboogle_test.jsonl":   true,
		"qa/searchr1_bamboogle_test.parquet": true,
		"qa/searchr1_musique_test.jsonl":     true,
		"qa/searchr1_nq_test.parquet":        true,
		"qa/flashrag_nq_test_sample.jsonl":   true,
	}
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".json", ".jsonl", ".parquet":
		default:
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		seen++
		t.Run(rel, func(t *testing.T) {
			n, _, err := ReadAll(context.Background(), []string{path}, Options{}, func(Passage) error { return nil })
			switch {
			case questionFiles[rel]:
				if !errors.Is(err, ErrQuestionFile) || !strings.Contains(err.Error(), "is a question file without passages") {
					t.Errorf("err = %v, want a question-file error", err)
				}
			case err == nil:
				if n == 0 {
					t.Errorf("read no passages")
				}
				t.Logf("%d passages", n)
			default:
				// Not a corpus (model fixtures, qrels): refused, naming the file.
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				t.Logf("refused: %v", err)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 8 {
		t.Errorf("found only %d data files", seen)
	}
}
