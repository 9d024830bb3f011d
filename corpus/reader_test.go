package corpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var quiet = slog.New(slog.DiscardHandler)

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readFile reads path to the end or to the first error.
func readFile(t testing.TB, path string, opt Options) (ps []Passage, r *Reader, err error) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	r, err = Open(path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		p, err := r.Next()
		if err == io.EOF {
			return ps, r, nil
		}
		if err != nil {
			return ps, r, err
		}
		ps = append(ps, p)
	}
}

func hp(qid, title, text string) Passage {
	return Passage{ID: ContentID(title, text), Title: title, Text: text, Meta: map[string]string{"question_id": qid}}
}

func TestReadFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		file   string
		data   string
		opt    Options
		format Format
		want   []Passage
	}{
		{
			name:   "searchr1",
			file:   "wiki.jsonl",
			data:   "{\"id\": \"0\", \"contents\": \"\\\"Evan Morris\\\"\\nEvan Morris was a lobbyist.\"}\n\n{\"id\": 7, \"contents\": \"no title line\"}\r\n",
			format: FormatSearchR1,
			want: []Passage{
				{ID: "0", Title: "Evan Morris", Text: "Evan Morris was a lobbyist."},
				{ID: "7", Text: "no title line"},
			},
		},
		{
			name:   "jsonl title text",
			file:   "c.jsonl",
			data:   `{"id": 12, "title": "A", "text": "alpha"}` + "\n" + `{"id": "b", "text": "beta"}`,
			format: FormatJSONL,
			want:   []Passage{{ID: "12", Title: "A", Text: "alpha"}, {ID: "b", Text: "beta"}},
		},
		{
			name:   "json array without ids",
			file:   "2wiki.json",
			data:   "[\n  {\"title\": \"T0\", \"text\": \"zero\"},\n  {\"title\": \"T1\", \"text\": \"one\"}\n]\n",
			format: FormatJSONArray,
			want:   []Passage{{ID: "0", Title: "T0", Text: "zero"}, {ID: "1", Title: "T1", Text: "one"}},
		},
		{
			name:   "json array with ids and contents",
			file:   "a.json",
			data:   `[{"id": "x", "contents": "\"X\"\nex"}, {"id": 5, "title": "Y", "text": "why"}, {"id": null, "text": "null id"}]`,
			format: FormatJSONArray,
			want:   []Passage{{ID: "x", Title: "X", Text: "ex"}, {ID: "5", Title: "Y", Text: "why"}, {ID: "2", Text: "null id"}},
		},
		{
			name: "hotpotqa ircot dedupes",
			file: "dev.jsonl",
			data: `{"question_id": "q1", "contexts": [{"id": "0", "title": "A", "paragraph_text": "Alpha.", "is_supporting": true}, {"id": "1", "title": "B", "paragraph_text": "Beta."}]}
{"question_id": "q2", "contexts": [{"title": "B", "paragraph_text": "Beta."}, {"title": "B", "paragraph_text": "Beta, other."}]}`,
			format: FormatHotpotQA,
			want:   []Passage{hp("q1", "A", "Alpha."), hp("q1", "B", "Beta."), hp("q2", "B", "Beta, other.")},
		},
		{
			name: "hotpotqa original array",
			file: "hotpot_dev.json",
			data: `[{"_id": "q1", "question": "?", "answer": "a", "supporting_facts": [["A", 0]],
			  "context": [["A", ["Alpha is first.", " It leads."]], ["B", ["Beta."]]]},
			 {"_id": "q2", "question": "?", "context": [["B", ["Beta."]]]}]`,
			format: FormatHotpotQAOriginal,
			want:   []Passage{hp("q1", "A", "Alpha is first. It leads."), hp("q1", "B", "Beta.")},
		},
		{
			name:   "hotpotqa original HF columns in JSONL",
			file:   "hf.jsonl",
			data:   `{"id": "q9", "question": "?", "context": {"title": [" C "], "sentences": [["Gamma.", " More."]]}}`,
			format: FormatHotpotQAOriginal,
			want:   []Passage{hp("q9", "C", "Gamma. More.")},
		},
		{
			name:   "forced format",
			file:   "c.txt",
			data:   `{"id": "1", "title": "T", "text": "t", "contents": "\"C\"\nc"}`,
			opt:    Options{Format: FormatSearchR1},
			format: FormatSearchR1,
			want:   []Passage{{ID: "1", Title: "C", Text: "c"}},
		},
		{
			name:   "byte order mark and leading blank lines",
			file:   "bom.jsonl",
			data:   "\xef\xbb\xbf\n\n{\"id\": \"1\", \"text\": \"t\"}\n",
			format: FormatJSONL,
			want:   []Passage{{ID: "1", Text: "t"}},
		},
		{name: "empty file", file: "e.jsonl", data: "", format: FormatAuto},
		{name: "empty array", file: "e.json", data: " [ ] ", format: FormatAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, r, err := readFile(t, writeFile(t, tt.file, []byte(tt.data)), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tt.format)
			}
			if diff := cmp.Diff(tt.want, ps); diff != "" {
				t.Errorf("passages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadGzipAndLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 1<<20) // a 5 MB line
	data := `{"id": "a", "text": "short"}` + "\n" + `{"id": "b", "text": "` + long + `"}` + "\n"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(data))
	zw.Close()
	for name, content := range map[string][]byte{"plain.jsonl": []byte(data), "zipped.jsonl.gz": buf.Bytes()} {
		t.Run(name, func(t *testing.T) {
			ps, _, err := readFile(t, writeFile(t, name, content), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 || ps[1].Text != long {
				t.Fatalf("got %d passages, want 2 with the long text intact", len(ps))
			}
		})
	}
}

func TestRecordErrors(t *testing.T) {
	t.Parallel()
	ok := `{"id": "a", "contents": "\"A\"\nalpha"}`
	tests := []struct {
		name    string
		file    string
		data    string
		opt     Options
		wantErr string // the first error, exactly
		wantN   int    // passages read without SkipBad before the error
		skipN   int    // passages read with SkipBad
		skipped int
		fatal   bool // SkipBad cannot get past it
	}{
		{name: "missing contents", file: "wiki.jsonl", data: ok + "\n" + `{"id": "b", "text": "t"}` + "\n" + `{"id": "c", "contents": "c"}`,
			opt: Options{Format: FormatSearchR1}, wantErr: `wiki.jsonl:2: missing field "contents"`, wantN: 1, skipN: 2, skipped: 1},
		{name: "bad json", file: "w.jsonl", data: ok + "\n\n" + `{"id": "b", "contents": }` + "\n" + `{"id": "c", "contents": "c"}`,
			wantErr: `w.jsonl:3: bad JSON: invalid character '}' looking for beginning of value (at byte 25)`, wantN: 1, skipN: 2, skipped: 1},
		{name: "empty id", file: "w.jsonl", data: ok + "\n" + `{"id": "", "contents": "b"}`,
			wantErr: `w.jsonl:2: empty field "id"`, wantN: 1, skipN: 1, skipped: 1},
		{name: "missing id in jsonl", file: "w.jsonl", data: ok + "\n" + `{"contents": "b"}`,
			wantErr: `w.jsonl:2: missing field "id"`, wantN: 1, skipN: 1, skipped: 1},
		{name: "boolean id", file: "w.jsonl", data: ok + "\n" + `{"id": true, "contents": "b"}`,
			wantErr: `w.jsonl:2: field "id": want a string or number, got a boolean`, wantN: 1, skipN: 1, skipped: 1},
		{name: "text is a number", file: "t.jsonl", data: `{"id": "a", "text": "x"}` + "\n" + `{"id": "b", "text": 5}`,
			wantErr: `t.jsonl:2: field "text": want a string, got JSON number`, wantN: 1, skipN: 1, skipped: 1},
		{name: "empty text", file: "t.jsonl", data: `{"id": "a", "text": "x"}` + "\n" + `{"id": "b", "title": "B", "text": ""}`,
			wantErr: `t.jsonl:2: empty field "text"`, wantN: 1, skipN: 1, skipped: 1},
		{name: "record not an object", file: "t.jsonl", data: `{"id": "a", "text": "x"}` + "\n" + `["b"]`,
			wantErr: `t.jsonl:2: record is a JSON array, want an object`, wantN: 1, skipN: 1, skipped: 1},
		{name: "duplicate id", file: "d.jsonl", data: ok + "\n" + `{"id": "b", "contents": "b"}` + "\n" + ok,
			wantErr: `d.jsonl:3: duplicate id "a"`, wantN: 2, skipN: 2, skipped: 1},
		{name: "truncated last line", file: "w.jsonl", data: ok + "\n" + `{"id": "b", "conte`,
			wantErr: `w.jsonl:2: bad JSON: unexpected end of JSON input (at byte 18)`, wantN: 1, skipN: 1, skipped: 1},
		{name: "line too long", file: "w.jsonl", data: ok + "\n" + `{"id": "b", "contents": "` + strings.Repeat("x", 100) + `"}` + "\n" + `{"id": "c", "contents": "c"}`,
			opt: Options{MaxRecordBytes: 64}, wantErr: `w.jsonl:2: line longer than 64 bytes`, wantN: 1, skipN: 2, skipped: 1},
		{name: "first line bad", file: "w.jsonl", data: "{oops\n" + ok,
			wantErr: `w.jsonl:1: bad JSON: invalid character 'o' looking for beginning of object key string (at byte 2) (want one JSON record per line, or a top-level JSON array)`,
			skipN:   1, skipped: 1},
		{name: "array element missing text", file: "a.json", data: "[\n {\"title\": \"A\", \"text\": \"a\"},\n {\"title\": \"B\"},\n {\"title\": \"C\", \"text\": \"c\"}\n]",
			wantErr: `a.json:3: row 1: missing field "text"`, wantN: 1, skipN: 2, skipped: 1},
		{name: "array element bad json", file: "a.json", data: "[{\"text\": \"a\"},\n {\"text\": },\n {\"text\": \"c\"}]",
			wantErr: `a.json:2: row 1: bad JSON: invalid character '}' looking for beginning of value (at byte 10)`, wantN: 1, skipN: 2, skipped: 1},
		{name: "array element too long", file: "a.json", data: `[{"text": "a"}, {"text": "` + strings.Repeat("b", 100) + `"}, {"text": "c"}]`,
			opt: Options{MaxRecordBytes: 64}, wantErr: `a.json:1: row 1: array element longer than 64 bytes`, wantN: 1, skipN: 2, skipped: 1},
		{name: "array of scalars", file: "a.json", data: `[{"text": "a"}, 1, tru, "x", {"text": "e"}]`,
			wantErr: `a.json:1: row 1: record is a JSON number, want an object`, wantN: 1, skipN: 2, skipped: 3},
		{name: "array trailing comma", file: "a.json", data: "[{\"text\": \"a\"},\n]",
			wantErr: `a.json:2: row 1: want a value after ','`, wantN: 1, skipN: 1, fatal: true},
		{name: "array truncated", file: "a.json", data: "[\n {\"title\": \"A\", \"text\": \"a\"},\n {\"title\": \"B\", \"te",
			wantErr: `a.json:3: row 1: truncated file: unexpected end inside the JSON array`, wantN: 1, skipN: 1, fatal: true},
		{name: "array bad syntax", file: "a.json", data: "[\n {\"title\": \"A\", \"text\": \"a\"}\n {\"title\": \"B\", \"text\": \"b\"}]",
			wantErr: `a.json:3: row 1: want ',' or ']' after array element`, wantN: 1, skipN: 1, fatal: true},
		{name: "data after array", file: "a.json", data: `[{"text": "a"}] [`,
			wantErr: `a.json:1: row 1: data after the closing ']'`, wantN: 1, skipN: 1, fatal: true},
		{name: "hotpot context without text", file: "h.jsonl", data: `{"contexts": [{"title": "A", "paragraph_text": "a"}]}` + "\n" + `{"contexts": [{"title": "B"}]}`,
			wantErr: `h.jsonl:2: contexts[0]: missing field "paragraph_text"`, wantN: 1, skipN: 1, skipped: 1},
		{name: "hotpot original bad context", file: "h.json", data: `[{"_id": "1", "question": "?", "context": [["A", ["a"]]]}, {"question": "?", "context": [["B"]]}]`,
			wantErr: `h.json:1: row 1: field "context": element 0: want [title, [sentences...]]`, wantN: 1, skipN: 1, skipped: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.file, []byte(tt.data))
			ps, _, err := readFile(t, path, tt.opt)
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want a *RecordError", err, err)
			}
			if got := strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator)); got != tt.wantErr {
				t.Errorf("error\n got %s\nwant %s", got, tt.wantErr)
			}
			if len(ps) != tt.wantN {
				t.Errorf("read %d passages before the error, want %d", len(ps), tt.wantN)
			}
			opt := tt.opt
			opt.SkipBad = true
			ps, r, err := readFile(t, path, opt)
			if tt.fatal != (err != nil) {
				t.Errorf("with SkipBad: err = %v, want fatal %v", err, tt.fatal)
			}
			if len(ps) != tt.skipN || (r != nil && r.Skipped() != tt.skipped) {
				t.Errorf("with SkipBad: read %d passages, skipped %d; want %d and %d", len(ps), r.Skipped(), tt.skipN, tt.skipped)
			}
		})
	}
}

func TestNextContinuesAfterRecordError(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "c.jsonl", []byte(`{"id": "a", "text": "a"}`+"\n"+`{"id": "b"}`+"\n"+`{"id": "c", "text": "c"}`))
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ids []string
	var errs int
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs++
			continue
		}
		ids = append(ids, p.ID)
	}
	if diff := cmp.Diff([]string{"a", "c"}, ids); diff != "" || errs != 1 {
		t.Errorf("ids (-want +got):\n%s\nerrors %d, want 1", diff, errs)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, data string
		opt              Options
		is               error
		contains         string
	}{
		{"searchr1 questions", "q.jsonl", `{"data_source": "nq", "prompt": [{"role": "user", "content": "?"}], "reward_model": {}}`,
			Options{}, ErrQuestionFile, "q.jsonl is a question file without passages"},
		{"flashrag questions", "q.jsonl", `{"id": "test_0", "question": "who?", "golden_answers": ["me"]}`,
			Options{}, ErrQuestionFile, "is a question file without passages"},
		{"unknown", "m.jsonl", `{"model": "x"}`, Options{}, ErrUnknownFormat, "first record has fields [model]"},
		{"bad format name", "c.jsonl", `{}`, Options{Format: "csv"}, nil, `unknown corpus format "csv"`},
		{"parquet forced on json", "c.jsonl", `{"id": "1", "text": "t"}`, Options{Format: FormatParquet}, nil, "parquet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(writeFile(t, tt.file, []byte(tt.data)), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.contains) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v, want one containing %q (is %v)", err, tt.contains, tt.is)
			}
		})
	}
}

// countHandler counts log records.
type countHandler struct {
	slog.Handler
	n *int
}

func (h countHandler) Handle(_ context.Context, _ slog.Record) error { *h.n++; return nil }

func TestSkipBadLogsAFewTimes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 20 {
		if i%2 == 0 {
			b.WriteString("not json\n")
		} else {
			b.WriteString(`{"id": "` + string(rune('a'+i)) + `", "text": "t"}` + "\n")
		}
	}
	logs := 0
	log := slog.New(countHandler{slog.NewTextHandler(io.Discard, nil), &logs})
	// The first line is bad too: detection skips it.
	ps, r, err := readFile(t, writeFile(t, "c.jsonl", []byte(b.String())), Options{SkipBad: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 10 || r.Skipped() != 10 || logs != maxLoggedSkips+1 {
		t.Errorf("read %d, skipped %d, logged %d; want 10, 10, %d", len(ps), r.Skipped(), logs, maxLoggedSkips+1)
	}
}

func TestReadAll(t *testing.T) {
	t.Parallel()
	a := writeFile(t, "a.jsonl", []byte(`{"id": "1", "text": "one"}`+"\n"+`{"id": "2", "text": "two"}`))
	b := writeFile(t, "b.json", []byte(`[{"text": "zero"}, {"text": ""}]`))
	var ids []string
	n, skipped, err := ReadAll(context.Background(), []string{a, b}, Options{SkipBad: true, Logger: quiet}, func(p Passage) error {
		ids = append(ids, p.ID)
		return nil
	})
	if err != nil || n != 3 || skipped != 1 {
		t.Fatalf("ReadAll = %d, %d, %v; want 3, 1, nil", n, skipped, err)
	}
	if diff := cmp.Diff([]string{"1", "2", "0"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}

	stop := errors.New("stop")
	n, _, err = ReadAll(context.Background(), []string{a, b}, Options{}, func(Passage) error { return stop })
	if n != 0 || !errors.Is(err, stop) {
		t.Errorf("ReadAll with failing fn = %d, %v; want 0, stop", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := ReadAll(ctx, []string{a}, Options{}, func(Passage) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll with cancelled ctx: err = %v", err)
	}
	if _, _, err := ReadAll(context.Background(), []string{a, b}, Options{}, func(Passage) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), `b.json:1: row 1: empty field "text"`) {
		t.Errorf("ReadAll without SkipBad: err = %v", err)
	}
}

func TestSplitContents(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, title, text string }{
		{"\"Title\"\nText", "Title", "Text"},
		{"\"A \"quoted\" title\"\nbody\nmore", "A \"quoted\" title", "body\nmore"},
		{"no title", "", "no title"},
		{"\"unterminated\nx", "", "\"unterminated\nx"},
		{"\"\nx", "", "\"\nx"},
		{"\"\"\nx", "", "x"},
		{"", "", ""},
	}
	for _, tt := range tests {
		title, text := SplitContents(tt.in)
		if title != tt.title || text != tt.text {
			t.Errorf("SplitContents(%q) = %q, %q; want %q, %q", tt.in, title, text, tt.title, tt.text)
		}
	}
}

func TestContentIDAndHotpotParagraph(t *testing.T) {
	t.Parallel()
	if got, want := ContentID("A", "b"), ContentID("A", "b"); got != want || len(got) != 17 || got[0] != 'p' {
		t.Errorf("ContentID = %q", got)
	}
	if ContentID("Ab", "c") == ContentID("A", "bc") {
		t.Error("ContentID does not separate title from text")
	}
	title, text := HotpotParagraph(" T ", []string{"One.", " Two.", "  Three. "})
	if title != "T" || text != "One. Two.  Three." {
		t.Errorf("HotpotParagraph = %q, %q", title, text)
	}
	_, text = HotpotParagraph("T", []string{strings.Repeat("w ", 1500)})
	if n := len(strings.Split(text, " ")); n != hotpotMaxWords {
		t.Errorf("clipped paragraph has %d tokens, want %d", n, hotpotMaxWords)
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range allFormats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if got, err := ParseFormat(""); err != nil || got != FormatAuto {
		t.Errorf("ParseFormat(\"\") = %q, %v", got, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
}

func TestFatalErrorsStopSkipBad(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	for i := range 2000 {
		zw.Write([]byte(`{"id": "` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `", "text": "some text that compresses"}` + "\n"))
	}
	zw.Close()
	truncated := gz.Bytes()[:gz.Len()/2]
	tests := []struct {
		name, file, data, want string
	}{
		{"array broken before the first element", "a.json", `[{"title": `, "a.json:1: row 0: truncated file"},
		{"gzip truncated", "c.jsonl.gz", string(truncated), "read: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := readFile(t, writeFile(t, tt.file, []byte(tt.data)), Options{SkipBad: true})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReadAllIDsAcrossFiles(t *testing.T) {
	t.Parallel()
	a := writeFile(t, "a.jsonl", []byte(`{"id": "1", "text": "one"}`))
	b := writeFile(t, "b.jsonl", []byte(`{"id": "2", "text": "two"}`+"\n"+`{"id": "1", "text": "uno"}`))
	_, _, err := ReadAll(context.Background(), []string{a, b}, Options{}, func(Passage) error { return nil })
	if err == nil || !strings.HasSuffix(err.Error(), `b.jsonl:2: duplicate id "1"`) {
		t.Errorf("err = %v, want a duplicate id in b.jsonl:2", err)
	}
	q1 := writeFile(t, "dev.jsonl", []byte(`{"question_id": "1", "contexts": [{"title": "A", "paragraph_text": "a"}]}`))
	q2 := writeFile(t, "train.jsonl", []byte(`{"question_id": "2", "contexts": [{"title": "A", "paragraph_text": "a"}, {"title": "B", "paragraph_text": "b"}]}`))
	n, _, err := ReadAll(context.Background(), []string{q1, q2}, Options{}, func(Passage) error { return nil })
	if err != nil || n != 2 {
		t.Errorf("ReadAll over two HotpotQA files = %d, %v; want 2 unique paragraphs", n, err)
	}
}
