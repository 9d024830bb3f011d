package world

import (
	"strings"
	"testing"
)

func TestSummaryWriteText(t *testing.T) {
	s := Summary{Seed: 3, Version: 2, Entities: 60, Distractors: 6, Facts: 100, Passages: 70, Questions: 5,
		Splits: []SplitCount{{"train", 3}, {"test", 2}}, ByHops: []HopCount{{1, 2, 0}, {2, 2, 1}}}
	var b strings.Builder
	if err := s.WriteText(&b, "/tmp/w"); err != nil {
		t.Fatal(err)
	}
	want := "world seed 3 (format v2) written to /tmp/w\n  60 entities (6 distractors), 100 facts, 70 passages\n  5 questions: train 3 test 2\n" +
		"  1-hop: 2 chain, 0 comparison\n  2-hop: 2 chain, 1 comparison\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}
