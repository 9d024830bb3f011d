package corpus

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var fuzzSeeds = []string{
	`{"id": "0", "contents": "\"Evan Morris\"\nEvan Morris was a lobbyist."}`,
	`{"id": 12, "title": "A", "text": "alpha"}`,
	`{"id": "", "text": "x"}`,
	`{"id": true, "text": 5}`,
	`{"id": 1e400, "contents": null}`,
	`{"id": "a", "contents": "\"\n"}`,
	`["not", "an", "object"]`,
	`{"id": "a", "conte`,
	"{\"id\": \"\\ud800\", \"text\": \"\\u0000\"}",
}

var hotpotSeeds = []string{
	`{"question_id": "q1", "contexts": [{"id": "0", "title": "A", "paragraph_text": "Alpha.", "is_supporting": true}]}`,
	`{"contexts": [{"title": "B"}]}`,
	`{"contexts": null}`,
	`{"_id": "q1", "question": "?", "context": [["A", ["Alpha is first.", " It leads."]], ["B", ["Beta."]]]}`,
	`{"id": "q9", "question": "?", "context": {"title": [" C "], "sentences": [["Gamma.", " More."]]}}`,
	`{"question": "?", "context": {"title": ["C", "D"], "sentences": [[]]}}`,
	`{"question": "?", "context": [["A"], 5, ["B", [1]]]}`,
}

// checkPassages fails on passages no reader may return.
func checkPassage(t *testing.T, p Passage) {
	if p.ID == "" || p.Text == "" {
		t.Fatalf("passage with empty id or text: %+v", p)
	}
}

func FuzzJSONLLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, wantContents, defaultID bool) {
		p, err := decodePassage(data, wantContents, defaultID, 3)
		if err == nil {
			checkPassage(t, p)
		}
	})
}

func FuzzSplitContents(f *testing.F) {
	f.Add("Title", "Text")
	f.Add("", "\"x\"\ny")
	f.Add("A \"q\"", "line\nline")
	f.Add("\"", "\n")
	f.Fuzz(func(t *testing.T, title, text string) {
		// Any input splits without panicking, and a found title is exact.
		for _, in := range []string{title, text, title + "\n" + text} {
			gt, gx := SplitContents(in)
			if gt != "" && "\""+gt+"\"\n"+gx != in {
				t.Fatalf("SplitContents(%q) = %q, %q: does not rebuild the input", in, gt, gx)
			}
			if gt == "" && gx != in && "\"\"\n"+gx != in {
				t.Fatalf("SplitContents(%q) = %q, %q: lost text", in, gt, gx)
			}
		}
		// Contents and SplitContents are inverses for one-line titles.
		if title != "" && !strings.Contains(title, "\n") {
			p := Passage{Title: title, Text: text}
			if gt, gx := SplitContents(p.Contents()); gt != title || gx != text {
				t.Fatalf("round trip of %q, %q gave %q, %q", title, text, gt, gx)
			}
		}
	})
}

// readFuzz reads everything from a reader over data, checking invariants.
func readFuzz(t *testing.T, data []byte, opt Options) {
	opt.Logger = quiet
	r, err := NewReader(bytes.NewReader(data), "fuzz.in", opt)
	if err != nil {
		if !strings.Contains(err.Error(), "fuzz.in") {
			t.Fatalf("error does not name the input: %v", err)
		}
		return
	}
	defer r.Close()
	for range 100000 {
		p, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), "fuzz.in") {
				t.Fatalf("error is not a RecordError naming the input: %v", err)
			}
			if re.fatal || opt.SkipBad {
				return
			}
			continue
		}
		checkPassage(t, p)
	}
	t.Fatal("reader did not reach the end")
}

func FuzzJSONArray(f *testing.F) {
	f.Add([]byte(`[{"title": "T0", "text": "zero"}, {"id": 5, "text": "one"}]`))
	f.Add([]byte("[\n {\"title\": \"A\", \"text\": \"a\"},\n {\"title\": \"B\", \"te"))
	f.Add([]byte(`[{"text": "a"}] [`))
	f.Add([]byte(`[1, "x", null, {"text": ""}]`))
	f.Add([]byte(`[{"_id": "1", "question": "?", "context": [["A", ["a"]]]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		readFuzz(t, data, Options{})
		readFuzz(t, data, Options{SkipBad: true, Format: FormatJSONArray})
	})
}

func FuzzHotpotRecord(f *testing.F) {
	for _, s := range hotpotSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range []recordDecoder{decodeIRCoT, decodeHotpotOriginal} {
			ps, err := dec(data, loc{})
			if err != nil {
				continue
			}
			for _, p := range ps {
				checkPassage(t, p)
				if p.ID != ContentID(p.Title, p.Text) {
					t.Fatalf("passage id %q is not its content id", p.ID)
				}
			}
		}
	})
}

// FuzzReader drives format detection and both containers end to end.
func FuzzReader(f *testing.F) {
	for _, s := range append(fuzzSeeds, hotpotSeeds...) {
		f.Add([]byte(s+"\n"+s+"\n"), false)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(fuzzSeeds[0]))
	zw.Close()
	f.Add(gz.Bytes(), true)
	f.Add([]byte("\xef\xbb\xbf\n[]"), false)
	f.Add([]byte(`{"data_source": "x", "prompt": []}`), false)
	f.Fuzz(func(t *testing.T, data []byte, skipBad bool) {
		readFuzz(t, data, Options{SkipBad: skipBad, MaxRecordBytes: 256})
	})
}

// FuzzFastPassageRecord checks that the fast decoder agrees with
// encoding/json whenever it accepts a record.
func FuzzFastPassageRecord(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"id": -0.5e+3, "x": [1], "y": null, "z": true, "text": "a\u00e9\n\"", "Text": "b"}`))
	f.Add([]byte(`{"id": "\u00e9", "contents": "caf\u00c3\u00a9 \ud83d\ude00", "title": "\/", "extra": "x"}`))
	f.Add([]byte("{\"text\": \"\xff\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastPassageRecord(data)
		if !ok {
			return
		}
		var slow passageRecord
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("fast decoder accepted %q; encoding/json: %v", data, err)
		}
		if diff := cmp.Diff(slow, fast, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("fast decoder differs on %q (-json +fast):\n%s", data, diff)
		}
	})
}
