package env

import (
	"strings"
	"testing"
)

// FuzzParseRequests feeds arbitrary bodies to every request parser: none
// may panic, and what one accepts satisfies its documented checks.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`{"preset":"searchr1","question":"q","gold":{"answers":["a"]},"id":"x-1"}`,
		`{"tool":"search","input":"q"}`,
		`{"tool":"web_search","arguments":{"query":["a","b"]}}`,
		`{"solution":"<answer>a</answer>"}`,
		`{"preset":"searchr1","gold":{"answers":["a"]},"turns":["<answer>a</answer>"]}`,
		`{"answer":null}`, `[]`, `{"id":"a/b"}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		if c, err := ParseCreate(b); err == nil {
			if c.Preset == "" || strings.TrimSpace(c.Question) == "" || (c.ID != "" && checkID(c.ID) != nil) {
				t.Fatalf("accepted create %+v", c)
			}
		}
		if c, err := ParseCall(b); err == nil {
			if c.Tool == "" || (c.Input == "") == (c.Arguments == nil) {
				t.Fatalf("accepted call %+v", c)
			}
		}
		for _, stateless := range []bool{false, true} {
			if s, err := ParseScore(b, stateless); err == nil {
				if stateless && (s.Preset == "" || s.Gold == nil) || len(s.Turns) > maxTurns {
					t.Fatalf("accepted score %+v", s)
				}
			}
		}
	})
}
