package eval

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/shareddata"
)

// TestSharedQuestionFiles loads every question file of ../shared/data and
// checks its count and a few gold answers.
func TestSharedQuestionFiles(t *testing.T) {
	tests := []struct {
		path    string
		n       int
		dataset string
		first   Question // ID, Answers and Hops checked
		some    map[int][]string
	}{
		{"qa/searchr1_bamboogle_test.jsonl", 125, "chiayewken/bamboogle",
			Question{ID: "0", Answers: []string{"james madison"}}, map[int][]string{1: {"Titan IIIE"}, 2: {"1999"}}},
		{"qa/searchr1_bamboogle_test.parquet", 125, "chiayewken/bamboogle",
			Question{ID: "0", Answers: []string{"james madison"}}, map[int][]string{1: {"Titan IIIE"}}},
		{"qa/searchr1_musique_test.jsonl", 2417, "bdsaglam/musique",
			Question{ID: "0", Answers: []string{"Miquette Giraudy"}}, map[int][]string{1: {"Mike Medavoy"}}},
		{"qa/searchr1_nq_test.parquet", 3610, "google-research-datasets/nq_open",
			Question{ID: "0", Answers: []string{"14 December 1972 UTC", "December 1972"}},
			map[int][]string{1: {"Bobby Scott", "Bob Russell"}, 2: {"one", "one season"}}},
		{"qa/flashrag_nq_test_sample.jsonl", 17, FormatFlashRAG,
			Question{ID: "test_0", Answers: []string{"Wilhelm Conrad Röntgen"}}, map[int][]string{2: {"Olivia", "MFSK"}}},
		{"hotpotqa/dev_distractor_400.jsonl", 400, "hotpotqa",
			Question{ID: "5a8c7595554299585d9e36b6", Answers: []string{"Chief of Protocol"}, Hops: 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			qs, err := LoadQuestions(shareddata.Path(t, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if len(qs) != tt.n {
				t.Fatalf("%d questions, want %d", len(qs), tt.n)
			}
			q := qs[0]
			got := Question{ID: q.ID, Answers: q.Answers, Hops: q.Hops}
			if d := cmp.Diff(tt.first, got); d != "" {
				t.Errorf("first question (-want +got):\n%s", d)
			}
			for i, want := range tt.some {
				if d := cmp.Diff(want, qs[i].Answers); d != "" {
					t.Errorf("question %d answers (-want +got):\n%s", i, d)
				}
			}
			for _, q := range qs {
				if q.Dataset != tt.dataset || q.Question == "" || len(q.Answers) == 0 {
					t.Fatalf("question %s: dataset %q, question %q, answers %q", q.ID, q.Dataset, q.Question, q.Answers)
				}
			}
		})
	}
}

// TestHotpotSupportingIDs checks that the gold passage ids of the IRCoT
// file are the ids the corpus reader gives the same paragraphs.
func TestHotpotSupportingIDs(t *testing.T) {
	path := shareddata.Path(t, "hotpotqa/dev_distractor_400.jsonl")
	qs, err := LoadQuestions(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := corpus.Open(path, corpus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ids := map[string]bool{}
	for {
		p, err := r.Next()
		if err != nil {
			break
		}
		ids[p.ID] = true
	}
	if len(ids) != 3868 {
		t.Fatalf("corpus has %d paragraphs, want 3868", len(ids))
	}
	for _, q := range qs {
		if len(q.Supporting) != 2 {
			t.Fatalf("question %s: %d supporting ids, want 2", q.ID, len(q.Supporting))
		}
		for _, id := range q.Supporting {
			if !ids[id] {
				t.Fatalf("question %s: supporting id %s is not in the corpus", q.ID, id)
			}
		}
	}
}
