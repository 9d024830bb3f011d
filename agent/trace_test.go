package agent

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGrounds(t *testing.T) {
	retrieved := []HitRef{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}
	for _, tc := range []struct {
		name string
		ep   Episode
		want []EvidenceRef
	}{
		{"cited", Episode{Evidence: []string{"b"}, Retrieved: retrieved}, []EvidenceRef{{ID: "b", Title: "B"}}},
		{"none cited: all retrieved", Episode{Retrieved: retrieved}, []EvidenceRef{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}}},
		{"nothing", Episode{}, []EvidenceRef{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.ep.Grounds()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestAppendTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "traces.jsonl")
	for _, id := range []string{"q1", "q2"} {
		if err := AppendTrace(path, &Episode{ID: id, Answer: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var ep Episode
		if err := json.Unmarshal(sc.Bytes(), &ep); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ep.ID)
	}
	if d := cmp.Diff([]string{"q1", "q2"}, ids); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	if err := AppendTrace(filepath.Join(path, "not-a-dir", "x"), &Episode{}); err == nil {
		t.Error("appending under a file succeeded")
	}
}

func TestEpisodeWriteText(t *testing.T) {
	ep := &Episode{Status: Answered, Answer: "Paris", Evidence: []string{"a"}, Retrieved: []HitRef{{ID: "a", Title: "France"}},
		Turns: []Turn{{Index: 0, OutTokens: 5, FinishReason: "stop", Completion: " <answer> Paris </answer> "}}}
	ep.Ledger.Turns = 1
	var b strings.Builder
	ep.WriteText(&b, false)
	want := "answer: Paris\n  evidence: France (a)\n1 turns, 0 searches, 0 tokens generated, 0s\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	ep.WriteText(&b, true)
	if !strings.HasPrefix(b.String(), "── turn 1 (5 tokens, stop)\n<answer> Paris </answer>\n──\nanswer: Paris\n") {
		t.Errorf("with trace:\n%s", b.String())
	}
}
