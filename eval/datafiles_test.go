package eval

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleuth-research/sleuth/agent"
)

// TestLoadDataFiles: a file's ids are prefixed with its name; a merged
// file's (Search-R1's test set) also carry their set, since ids repeat
// across its sets; limit cuts each file.
func TestLoadDataFiles(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "dev.jsonl")
	merged := filepath.Join(dir, "test.jsonl")
	if err := os.WriteFile(plain, []byte(`{"id": "1", "question": "Q1?", "golden_answers": ["a"]}
{"id": "2", "question": "Q2?", "golden_answers": ["b"]}
{"id": "3", "question": "Q3?", "golden_answers": ["c"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(merged, []byte(`{"data_source": "nq", "prompt": [{"role": "user", "content": "N?"}], "reward_model": {"ground_truth": {"target": ["x"]}, "style": "rule"}, "extra_info": {"index": 7, "split": "test"}}
{"data_source": "hotpotqa", "prompt": [{"role": "user", "content": "H?"}], "reward_model": {"ground_truth": {"target": ["y"]}, "style": "rule"}, "extra_info": {"index": 7, "split": "test"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := LoadDataFiles([]string{plain, merged}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, q := range qs {
		got = append(got, [2]string{q.ID, q.Dataset})
	}
	want := [][2]string{{"dev:1", "flashrag"}, {"dev:2", "flashrag"}, {"test:nq:7", "nq"}, {"test:hotpotqa:7", "hotpotqa"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ids and sets (-want +got):\n%s", d)
	}
	if _, err := LoadDataFiles([]string{filepath.Join(dir, "missing.jsonl")}, 0); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestLoadAgentQuestions(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "qs.txt")
	if err := os.WriteFile(txt, []byte("Who?\n\n  Where?  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := LoadAgentQuestions(txt)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]agent.Question{{ID: "line1", Text: "Who?"}, {ID: "line3", Text: "Where?"}}, qs); d != "" {
		t.Errorf(".txt (-want +got):\n%s", d)
	}
	js := filepath.Join(dir, "qs.jsonl")
	if err := os.WriteFile(js, []byte(`{"id": "9", "question": "Q?", "golden_answers": ["a"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if qs, err = LoadAgentQuestions(js); err != nil || len(qs) != 1 || qs[0].ID != "9" || qs[0].Text != "Q?" {
		t.Errorf("jsonl: %+v (%v)", qs, err)
	}
}
