package eval

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/world"
)

// Inline fixtures in each dataset's documented layout.
const (
	hotpotOriginal = `[
 {"_id": "5a7a", "question": "Which band?", "answer": "The Beatles", "type": "bridge", "level": "hard",
  "supporting_facts": [["John Lennon", 0], ["The Beatles", 1], ["John Lennon", 1]],
  "context": [["John Lennon", ["John Lennon was a singer.", " He founded a band."]],
              ["The Beatles", ["The Beatles were a band."]],
              ["Liverpool", ["Liverpool is a city."]]]}
]`
	hotpotHF = `{"id": "hf1", "question": "Which band?", "answer": "The Beatles",
  "supporting_facts": {"title": ["The Beatles"], "sent_id": [0]},
  "context": {"title": ["The Beatles", "Liverpool"], "sentences": [["The Beatles were a band."], ["Liverpool is a city."]]}}`
	twoWiki = `[{"_id": "8813f87c0bdd11eba7f7acde48001122", "type": "compositional",
  "question": "Who is the mother of the director of film Polish-Russian War?", "answer": "Małgorzata Braunek",
  "context": [["Polish-Russian War (film)", ["Polish-Russian War is a 2009 Polish film directed by Xawery Żuławski."]],
              ["Xawery Żuławski", ["Xawery Żuławski is a Polish film director.", " His mother is Małgorzata Braunek."]]],
  "supporting_facts": [["Polish-Russian War (film)", 0], ["Xawery Żuławski", 1]],
  "evidences": [["Polish-Russian War", "director", "Xawery Żuławski"], ["Xawery Żuławski", "mother", "Małgorzata Braunek"]]}]`
	musique = `{"id": "2hop__13548_13529", "question": "When was the person who Messi's goals were compared to born?", "answer": "June 1934", "answer_aliases": ["1934"], "answerable": true, "paragraphs": [{"idx": 0, "title": "Messi", "paragraph_text": "Messi's goals were compared to Gerd Müller.", "is_supporting": true}, {"idx": 1, "title": "Gerd Müller", "paragraph_text": "Gerd Müller was born in June 1934.", "is_supporting": true}, {"idx": 2, "title": "Other", "paragraph_text": "Unrelated.", "is_supporting": false}], "question_decomposition": [{"id": 13548, "question": "Messi's goals compared to", "answer": "Gerd Müller", "paragraph_support_idx": 0}, {"id": 13529, "question": "When was #1 born?", "answer": "June 1934", "paragraph_support_idx": 1}]}
`
	ircot          = `{"question_id": "q1", "question_text": "How many?", "answers_objects": [{"number": "3", "date": {"day": "", "month": "", "year": ""}, "spans": []}, {"number": "", "date": {"day": "4", "month": "July", "year": "1776"}, "spans": []}], "contexts": [{"id": "0", "title": "T", "paragraph_text": "Text.", "is_supporting": true}]}`
	searchR1Target = `{"data_source": "nq", "prompt": [{"role": "user", "content": "Q?"}], "reward_model": {"ground_truth": {"target": ["a", "b"]}, "style": "rule"}, "extra_info": {"index": 7, "split": "test"}}`
)

func TestParseFormats(t *testing.T) {
	id := func(title string, sents ...string) string {
		return corpus.ContentID(corpus.HotpotParagraph(title, sents))
	}
	tests := []struct {
		name string
		in   string
		want []Question
	}{
		{"hotpotqa original", hotpotOriginal, []Question{{ID: "5a7a", Question: "Which band?", Answers: []string{"The Beatles"},
			Supporting: []string{id("John Lennon", "John Lennon was a singer.", " He founded a band."), id("The Beatles", "The Beatles were a band.")},
			Dataset:    FormatHotpotOriginal, Hops: 2, Meta: map[string]string{"type": "bridge", "level": "hard"}}}},
		{"hotpotqa hf", hotpotHF, []Question{{ID: "hf1", Question: "Which band?", Answers: []string{"The Beatles"},
			Supporting: []string{id("The Beatles", "The Beatles were a band.")}, Dataset: FormatHotpotOriginal, Hops: 1, Meta: map[string]string{}}}},
		{"2wiki", twoWiki, []Question{{ID: "8813f87c0bdd11eba7f7acde48001122", Question: "Who is the mother of the director of film Polish-Russian War?",
			Answers: []string{"Małgorzata Braunek"}, Dataset: Format2Wiki, Hops: 2, Meta: map[string]string{"type": "compositional"},
			Supporting: []string{id("Polish-Russian War (film)", "Polish-Russian War is a 2009 Polish film directed by Xawery Żuławski."),
				id("Xawery Żuławski", "Xawery Żuławski is a Polish film director.", " His mother is Małgorzata Braunek.")}}}},
		{"musique", musique, []Question{{ID: "2hop__13548_13529", Question: "When was the person who Messi's goals were compared to born?",
			Answers: []string{"June 1934", "1934"}, Dataset: FormatMuSiQue, Hops: 2, Meta: map[string]string{"answerable": "true"},
			Supporting: []string{corpus.ContentID("Messi", "Messi's goals were compared to Gerd Müller."), corpus.ContentID("Gerd Müller", "Gerd Müller was born in June 1934.")}}}},
		{"ircot numbers and dates", ircot, []Question{{ID: "q1", Question: "How many?", Answers: []string{"3", "4 July 1776"},
			Supporting: []string{corpus.ContentID("T", "Text.")}, Dataset: "hotpotqa", Hops: 1}}},
		{"search-r1 target", searchR1Target, []Question{{ID: "7", Question: "Q?", Answers: []string{"a", "b"}, Dataset: "nq", Meta: map[string]string{"split": "test"}}}},
		{"flashrag string answer", `{"id": 3, "question": "Q?", "golden_answers": "x"}`, []Question{{ID: "3", Question: "Q?", Answers: []string{"x"}, Dataset: FormatFlashRAG}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQuestions([]byte(tt.in), "f")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestWorldQuestions(t *testing.T) {
	w, err := world.Generate(world.Config{Seed: 3, Entities: 80, Questions: 60})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := w.Write(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, world.QuestionsDir, "dev.jsonl")
	qs, err := LoadQuestions(path)
	if err != nil {
		t.Fatal(err)
	}
	want := w.Split("dev")
	if len(qs) != len(want) || len(qs) == 0 {
		t.Fatalf("%d questions, want %d", len(qs), len(want))
	}
	for i, q := range qs {
		wq := want[i]
		if q.ID != wq.ID || q.Hops != wq.Hops || !cmp.Equal(q.Answers, wq.Answers) || !cmp.Equal(q.Supporting, wq.Supporting) || q.Dataset != FormatWorld {
			t.Fatalf("question %d: %+v, world has %+v", i, q, wq)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bad line", "{\"id\":\"a\",\"question\":\"q\",\"golden_answers\":[\"x\"]}\n\n{\"id\":\"b\",\"question\":\"q\",\"golden_answers\":[1]}\n", "f.jsonl:3: flashrag record: golden_answers"},
		{"not json", "{\"id\":\"a\",\"question\":\"q\",\"golden_answers\":[\"x\"]}\n{oops\n", "f.jsonl:2:"},
		{"not an object", "[1]", "f.jsonl:1: element 0: want a JSON object"},
		{"no answers", `{"id":"a","question":"q","golden_answers":[]}`, "f.jsonl:1: question a: no gold answers"},
		{"no question", `{"id":"a","question":" ","golden_answers":["x"]}`, "empty question text"},
		{"repeat", "{\"id\":\"a\",\"question\":\"q\",\"golden_answers\":[\"x\"]}\n{\"id\":\"a\",\"question\":\"q\",\"golden_answers\":[\"x\"]}", "f.jsonl:2: question id \"a\" repeats line 1"},
		{"unknown", `{"foo": 1}`, "unknown question format: fields [foo]"},
		{"empty", "\n\n", "no questions"},
		{"array element line", "[\n" + `{"_id":"a","question":"q","answer":"x","supporting_facts":[],"context":[]}` + ",\n" + `{"_id":"b","question":"q","answer":"x","supporting_facts":[["T",0]],"context":[]}` + "\n]", "f.jsonl:3: hotpotqa record: supporting fact title \"T\" is not in the context"},
		{"search-r1 no reward model", `{"data_source":"x","prompt":[{"role":"user","content":"q"}]}`, "no reward_model"},
		{"bad ground truth", `{"data_source":"x","prompt":[],"reward_model":{"ground_truth":5}}`, "reward_model.ground_truth"},
		{"truncated array", `[{"id":"a","question":"q","golden_answers":["x"]}`, "f.jsonl:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseQuestions([]byte(tt.in), "f.jsonl")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := LoadQuestions(filepath.Join(t.TempDir(), "none.jsonl")); err == nil {
		t.Error("missing file accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	if err := os.WriteFile(bad, []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadQuestions(bad); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("err = %v, want one naming bad.parquet", err)
	}
}

func FuzzParseQuestions(f *testing.F) {
	for _, s := range []string{hotpotOriginal, hotpotHF, twoWiki, musique, ircot, searchR1Target,
		`{"id": 3, "question": "Q?", "golden_answers": ["x"]}`,
		`{"id":"w1","split":"dev","type":"chain","hops":1,"question":"q","answers":["a"],"supporting":["p1"]}`,
		"[\n{}\n]", "{}\n{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		qs, err := ParseQuestions(b, "fuzz.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.jsonl") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, q := range qs {
			if q.ID == "" || len(q.Answers) == 0 {
				t.Errorf("accepted question without id or answers: %+v", q)
			}
		}
	})
}

func FuzzParquet(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "tiny.parquet")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := parseParquet(bytes.NewReader(b), int64(len(b)), "fuzz.parquet")
		if err != nil && !strings.Contains(err.Error(), "fuzz.parquet") {
			t.Errorf("error %q does not name the file", err)
		}
	})
}

func TestTinyParquet(t *testing.T) {
	qs, err := LoadQuestions(filepath.Join("testdata", "tiny.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Question{
		{ID: "0", Question: "who wrote it", Answers: []string{"Bobby Scott", "Bob Russell"}, Dataset: "nq", Meta: map[string]string{"split": "test"}},
		{ID: "1", Question: "how many", Answers: []string{"one"}, Dataset: "nq", Meta: map[string]string{"split": "test"}},
	}
	if d := cmp.Diff(want, qs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestIRCoTDataset(t *testing.T) {
	for id, want := range map[string]string{
		"5a8c7595554299585d9e36b6":         "hotpotqa",
		"8813f87c0bdd11eba7f7acde48001122": Format2Wiki,
		"2hop__13548_13529":                FormatMuSiQue,
	} {
		if got := ircotDataset(id); got != want {
			t.Errorf("ircotDataset(%s) = %s, want %s", id, got, want)
		}
	}
}
