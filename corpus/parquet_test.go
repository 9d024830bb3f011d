package corpus

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// writeParquet writes rows to a Parquet file with two rows per row group,
// so that readers cross row-group boundaries.
func writeParquet[T any](t testing.TB, rows []T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.parquet")
	if err := parquet.WriteFile(path, rows, parquet.MaxRowsPerRowGroup(2)); err != nil {
		t.Fatal(err)
	}
	return path
}

type pqTitleText struct {
	ID    string `parquet:"id"`
	Title string `parquet:"title"`
	Text  string `parquet:"text"`
}

type pqContents struct {
	ID       int64  `parquet:"id"`
	Contents string `parquet:"contents"`
	Extra    []int  `parquet:"extra"`
}

type pqNullable struct {
	ID   *string `parquet:"id,optional"`
	Text *string `parquet:"text,optional"`
}

type pqNoID struct {
	Title string `parquet:"title"`
	Text  string `parquet:"text"`
}

type pqQuestions struct {
	DataSource string `parquet:"data_source"`
	Prompt     []struct {
		Role    string `parquet:"role"`
		Content string `parquet:"content"`
	} `parquet:"prompt,list"`
}

func ptr(s string) *string { return &s }

func TestReadParquet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		opt     Options
		want    []Passage
		wantErr string
		skipped int
	}{
		{
			name: "id title text",
			path: func(t *testing.T) string {
				return writeParquet(t, []pqTitleText{{"a", "A", "alpha"}, {"b", "", "beta"}, {"c", "C", "gamma"}})
			},
			want: []Passage{{ID: "a", Title: "A", Text: "alpha"}, {ID: "b", Text: "beta"}, {ID: "c", Title: "C", Text: "gamma"}},
		},
		{
			name: "int id and contents",
			path: func(t *testing.T) string {
				return writeParquet(t, []pqContents{{7, "\"Seven\"\nsept", []int{1, 2}}, {8, "huit", nil}})
			},
			want: []Passage{{ID: "7", Title: "Seven", Text: "sept"}, {ID: "8", Text: "huit"}},
		},
		{
			name: "no id column",
			path: func(t *testing.T) string { return writeParquet(t, []pqNoID{{"A", "a"}, {"B", "b"}, {"C", "c"}}) },
			want: []Passage{{ID: "0", Title: "A", Text: "a"}, {ID: "1", Title: "B", Text: "b"}, {ID: "2", Title: "C", Text: "c"}},
		},
		{
			name: "null text",
			path: func(t *testing.T) string {
				return writeParquet(t, []pqNullable{{ptr("a"), ptr("x")}, {ptr("b"), nil}, {ptr("c"), ptr("z")}})
			},
			wantErr: `c.parquet: row 1: missing field "text"`,
		},
		{
			name: "null text skipped",
			path: func(t *testing.T) string {
				return writeParquet(t, []pqNullable{{ptr("a"), ptr("x")}, {nil, ptr("y")}, {ptr("a"), ptr("z")}, {ptr("d"), ptr("w")}})
			},
			opt:     Options{SkipBad: true},
			want:    []Passage{{ID: "a", Text: "x"}, {ID: "d", Text: "w"}},
			skipped: 2,
		},
		{
			name: "duplicate id",
			path: func(t *testing.T) string {
				return writeParquet(t, []pqTitleText{{"a", "", "x"}, {"b", "", "y"}, {"a", "", "z"}})
			},
			wantErr: `c.parquet: row 2: duplicate id "a"`,
		},
		{
			name: "question file",
			path: func(t *testing.T) string {
				rows := []pqQuestions{{DataSource: "nq"}}
				rows[0].Prompt = append(rows[0].Prompt, struct {
					Role    string `parquet:"role"`
					Content string `parquet:"content"`
				}{"user", "who?"})
				return writeParquet(t, rows)
			},
			wantErr: "is a question file without passages",
		},
		{
			name:    "not parquet",
			path:    func(t *testing.T) string { return writeFile(t, "c.parquet", []byte("PAR1 but not really")) },
			wantErr: "c.parquet: parquet:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, r, err := readFile(t, tt.path(t), tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != FormatParquet || r.Skipped() != tt.skipped {
				t.Errorf("Format() = %q, Skipped() = %d; want parquet, %d", r.Format(), r.Skipped(), tt.skipped)
			}
			if diff := cmp.Diff(tt.want, ps); diff != "" {
				t.Errorf("passages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParquetRecordErrorIsTyped(t *testing.T) {
	t.Parallel()
	path := writeParquet(t, []pqNullable{{ptr("a"), ptr("")}})
	_, _, err := readFile(t, path, Options{})
	var re *RecordError
	if !errors.As(err, &re) || re.Row != 0 || re.Line != 0 {
		t.Fatalf("err = %#v, want a RecordError at row 0", err)
	}
}

// FuzzParquet: whatever bytes a .parquet file holds, reading it returns
// passages or errors, never a panic or a runaway allocation.
func FuzzParquet(f *testing.F) {
	good := writeParquet(f, []pqTitleText{{ID: "a", Title: "T", Text: "one"}, {ID: "b", Title: "U", Text: "two"}, {ID: "c", Text: "three"}})
	b, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "x.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path, Options{Format: FormatParquet, SkipBad: true})
		if err != nil {
			return
		}
		defer r.Close()
		for i := 0; i < 200; i++ {
			if _, err := r.Next(); err != nil {
				var re *RecordError
				if err == io.EOF || !errors.As(err, &re) {
					return
				}
			}
		}
	})
}
