package web

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzParser checks that a provider parser never panics and that whatever it
// accepts, it accepts again identically (parsing has no hidden state).
func fuzzParser(f *testing.F, testdata string, parse func([]byte) ([]Result, error)) {
	body, err := os.ReadFile(filepath.Join("testdata", testdata))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{body, []byte(`{}`), []byte(`{"results":null}`), []byte(`[]`), []byte(``),
		[]byte(`{"web":{"results":[{"url":1}]}}`), []byte(`{"organic":[{"link":"x","title":"\u0000"}]}`),
		[]byte(`{"results":[{"url":"u","score":"high"}]}`), body[:len(body)/2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := parse(b)
		if err != nil {
			if res != nil {
				t.Errorf("results %v returned with error %v", res, err)
			}
			return
		}
		again, err := parse(bytes.Clone(b))
		if err != nil || len(again) != len(res) {
			t.Errorf("second parse: %d results, %v; first gave %d", len(again), err, len(res))
		}
	})
}

func FuzzParseSearXNG(f *testing.F) { fuzzParser(f, "searxng.json", ParseSearXNG) }
func FuzzParseBrave(f *testing.F)   { fuzzParser(f, "brave.json", ParseBrave) }
func FuzzParseSerper(f *testing.F)  { fuzzParser(f, "serper.json", ParseSerper) }
func FuzzParseTavily(f *testing.F)  { fuzzParser(f, "tavily.json", ParseTavily) }

func FuzzParseIndex(f *testing.F) {
	h := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	f.Add([]byte(`{"kind":"search","key":"brave\t5\tq","hash":"` + h + `"}` + "\n"))
	f.Add([]byte("\n\n{\"kind\":\"page\",\"key\":\"\",\"hash\":\"" + h + "\"}\n{"))
	f.Add([]byte(`{"kind":"page","key":"a","hash":"../x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, _, err := parseIndex(bytes.NewReader(b), "index.jsonl")
		if err != nil {
			return
		}
		for k, hash := range idx {
			if k.kind == "" || !validHash(hash) {
				t.Errorf("accepted entry %+v → %q", k, hash)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "Wed, 25 Nov 2026 12:00:30 GMT", "1e9", "9223372036854775807"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 {
			t.Errorf("parseRetryAfter(%q) = %s < 0", s, d)
		}
	})
}
