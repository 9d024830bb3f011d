package corpus

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/sleuth-research/sleuth/internal/parquetguard"
)

// parquetBatch is how many rows are decoded at a time.
const parquetBatch = 256

// parquetSource reads a Parquet corpus one row group at a time, keeping
// only the id, title, text and contents columns of each row.
type parquetSource struct {
	groups []parquet.RowGroup
	group  int
	rows   parquet.Rows
	buf    []parquet.Row
	n, i   int // rows in buf, next row in buf
	row    int // index of the next row in the file

	id, title, text, contents int // column indexes, -1 when absent
	wantContents              bool
}

func openParquet(f *os.File, path string) (src *parquetSource, err error) {
	defer func() {
		if v := recover(); v != nil {
			src, err = nil, fmt.Errorf("open corpus %s: corrupt parquet file: %v", path, v)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open corpus %s: %w", path, err)
	}
	if err := parquetguard.CheckFooter(f, st.Size()); err != nil {
		return nil, fmt.Errorf("open corpus %s: parquet: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("open corpus %s: parquet: %w", path, err)
	}
	if err := parquetguard.CheckPages(f, st.Size(), pf); err != nil {
		return nil, fmt.Errorf("open corpus %s: parquet: %w", path, err)
	}
	s := &parquetSource{groups: pf.RowGroups(), buf: make([]parquet.Row, parquetBatch)}
	schema := pf.Schema()
	var names []string
	for _, fl := range schema.Fields() {
		names = append(names, fl.Name())
	}
	col := func(name string, kinds ...parquet.Kind) (int, error) {
		leaf, ok := schema.Lookup(name)
		if !ok || len(leaf.Path) != 1 {
			return -1, nil
		}
		if leaf.MaxRepetitionLevel > 0 {
			return -1, fmt.Errorf("column %q is repeated; want a scalar", name)
		}
		k := leaf.Node.Type().Kind()
		for _, want := range kinds {
			if k == want {
				return leaf.ColumnIndex, nil
			}
		}
		return -1, fmt.Errorf("column %q has type %v; want %v", name, k, kinds)
	}
	str := parquet.ByteArray
	for _, c := range []struct {
		dst   *int
		name  string
		kinds []parquet.Kind
	}{
		{&s.id, "id", []parquet.Kind{str, parquet.Int32, parquet.Int64}},
		{&s.title, "title", []parquet.Kind{str}},
		{&s.text, "text", []parquet.Kind{str}},
		{&s.contents, "contents", []parquet.Kind{str}},
	} {
		if *c.dst, err = col(c.name, c.kinds...); err != nil {
			return nil, fmt.Errorf("open corpus %s: %w", path, err)
		}
	}
	if s.text < 0 && s.contents < 0 {
		fields := map[string]bool{}
		for _, n := range names {
			fields[n] = true
		}
		if (fields["data_source"] && fields["prompt"]) || fields["question"] || fields["golden_answers"] {
			return nil, fmt.Errorf("open corpus: %s is a %w (columns %v); give a corpus file", path, ErrQuestionFile, names)
		}
		return nil, fmt.Errorf("open corpus %s: %w: Parquet columns %v; want id/title/text or id/contents",
			path, ErrUnknownFormat, names)
	}
	s.wantContents = s.text < 0
	return s, nil
}

// Close releases the row group being read.
func (s *parquetSource) Close() error {
	if s.rows == nil {
		return nil
	}
	err := s.rows.Close()
	s.rows = nil
	return err
}

func (s *parquetSource) next() (ps []Passage, at loc, err error) {
	defer func() { // the library panics on some corrupt pages: an error, not a crash
		if v := recover(); v != nil {
			ps, at, err = nil, loc{row: s.row}, fatalError{fmt.Errorf("corrupt parquet data: %v", v)}
		}
	}()
	for s.i >= s.n {
		if err := s.fill(); err != nil {
			return nil, loc{row: s.row}, err
		}
	}
	row := s.buf[s.i]
	s.i++
	at = loc{row: s.row}
	s.row++
	p, err := s.passage(row, at.row)
	return []Passage{p}, at, err
}

// fill decodes the next batch of rows, moving on to the next row group
// when one is exhausted.
func (s *parquetSource) fill() error {
	for {
		if s.rows == nil {
			if s.group >= len(s.groups) {
				return io.EOF
			}
			s.rows = s.groups[s.group].Rows()
			s.group++
		}
		n, err := s.rows.ReadRows(s.buf)
		s.n, s.i = n, 0
		if err != nil && !errors.Is(err, io.EOF) {
			return fatalError{fmt.Errorf("parquet: %w", err)}
		}
		if errors.Is(err, io.EOF) {
			s.rows.Close()
			s.rows = nil
		}
		if n > 0 {
			return nil
		}
	}
}

func (s *parquetSource) passage(row parquet.Row, index int) (Passage, error) {
	var id, title, text, contents *string
	for _, v := range row {
		var dst **string
		switch v.Column() {
		case s.id:
			dst = &id
		case s.title:
			dst = &title
		case s.text:
			dst = &text
		case s.contents:
			dst = &contents
		default:
			continue
		}
		if v.IsNull() {
			continue
		}
		var str string
		switch v.Kind() {
		case parquet.Int32:
			str = strconv.FormatInt(int64(v.Int32()), 10)
		case parquet.Int64:
			str = strconv.FormatInt(v.Int64(), 10)
		default:
			str = string(v.ByteArray())
		}
		*dst = &str
	}
	var p Passage
	switch {
	case s.id < 0:
		p.ID = strconv.Itoa(index)
	case id == nil:
		return Passage{}, missingOrEmpty("id", true)
	case *id == "":
		return Passage{}, missingOrEmpty("id", false)
	default:
		p.ID = *id
	}
	if s.wantContents {
		if contents == nil {
			return Passage{}, missingOrEmpty("contents", true)
		}
		p.Title, p.Text = SplitContents(*contents)
	} else {
		if text == nil {
			return Passage{}, missingOrEmpty("text", true)
		}
		p.Text = *text
		if title != nil {
			p.Title = *title
		}
	}
	if p.Text == "" {
		return Passage{}, missingOrEmpty("text", false)
	}
	return p, nil
}
