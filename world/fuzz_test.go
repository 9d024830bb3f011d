package world

import (
	"bytes"
	"strings"
	"testing"
)

// The parsers read files a user may have edited or truncated: whatever the
// bytes, they return data or an error naming the file, and never panic.

func FuzzParsePassages(f *testing.F) {
	for _, s := range []string{
		`{"id":"w1-p000000","title":"Varnel Labs","text":"Varnel Labs was founded by Tomar Kelvash."}` + "\n",
		"{\"id\":\"a\",\"text\":\"x\"}\n\n{\"id\":\"b\",\"text\":\"y\"}",
		"{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\"}\n",
		"{oops\n", "[]", "null", "\n\n", `{"id":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePassages(bytes.NewReader(data), "corpus.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "corpus.jsonl:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if p.ID == "" || seen[p.ID] {
				t.Fatalf("accepted empty or repeated id %q", p.ID)
			}
			seen[p.ID] = true
		}
	})
}

func FuzzParseQuestions(f *testing.F) {
	for _, s := range []string{
		`{"id":"w1-q000001","split":"dev","type":"chain","hops":1,"question":"Who founded Varnel Labs?","answers":["Tomar Kelvash"],"supporting":["w1-p000003"],"chain":[{"subject_id":"w1-e00001","subject":"Varnel Labs","relation":"founded_by","object_id":"w1-e00002","object":"Tomar Kelvash","passage_id":"w1-p000003","query":"founder of Varnel Labs"}]}`,
		`{"id":"q","question":"Q?","answers":["a"]}` + "\n" + `{"id":"q","question":"Q?","answers":["a"]}`,
		`{"id":"q","split":"train","question":"Q?","answers":["a"]}`,
		`{"id":"q","question":"","answers":[]}`, `{"chain":[{}]}`, "{", "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := ParseQuestions(bytes.NewReader(data), "dev.jsonl", Dev)
		if err != nil {
			if !strings.Contains(err.Error(), "dev.jsonl:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		for _, q := range qs {
			if q.ID == "" || q.Question == "" || len(q.Answers) == 0 || q.Split != Dev {
				t.Fatalf("accepted an invalid question %+v", q)
			}
		}
	})
}

func FuzzParseKB(f *testing.F) {
	for _, s := range []string{
		`{"entity":{"id":"w1-e00000","type":"country","name":"Keluria","aliases":["Republic of Keluria"]}}` + "\n" +
			`{"fact":{"subject":"w1-e00000","relation":"population","value":"1,000","passage_id":"w1-p000001"}}`,
		`{"entity":{"id":"e","name":"E"},"fact":{"subject":"e","relation":"r"}}`,
		`{}`, `{"entity":null}`, `{"fact":{"subject":""}}`, "{\"entity\":{\"id\":\"e\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ents, facts, err := ParseKB(bytes.NewReader(data), "kb.jsonl")
		if err != nil {
			if !strings.Contains(err.Error(), "kb.jsonl:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		for _, e := range ents {
			if e.ID == "" || e.Name == "" {
				t.Fatalf("accepted entity %+v", e)
			}
		}
		for _, fa := range facts {
			if fa.Subject == "" || fa.Relation == "" {
				t.Fatalf("accepted fact %+v", fa)
			}
		}
	})
}
