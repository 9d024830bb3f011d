package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/sleuth-research/sleuth/internal/parquetguard"
)

// maxParquetRows bounds a question file (the largest benchmarks have tens
// of thousands of questions).
const maxParquetRows = 10_000_000

func hasField(fs []parquet.Field, name string) bool {
	for _, f := range fs {
		if f.Name() == name {
			return true
		}
	}
	return false
}

// loadParquet reads a Search-R1/verl Parquet question file. Each row is
// read generically and decoded as the JSONL record would be, so both
// layouts share one decoder (the NQ file's extra_info.answer is a list, the
// Bamboogle file's a string).
func loadParquet(path string) ([]Question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load questions: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load questions: %w", err)
	}
	return parseParquet(f, st.Size(), path)
}

// parseParquet decodes Parquet rows; a panic inside the Parquet library on
// a corrupt file becomes an error, so bad input never crashes a run.
func parseParquet(r io.ReaderAt, size int64, name string) (qs []Question, err error) {
	defer func() {
		if p := recover(); p != nil {
			qs, err = nil, fmt.Errorf("%s: corrupt parquet file: %v", name, p)
		}
	}()
	if err := parquetguard.CheckFooter(r, size); err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", name, err)
	}
	pf, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", name, err)
	}
	// Check the schema and size before reading rows, so a corrupt footer
	// claiming billions of rows or no columns is refused, not looped over.
	for _, col := range []string{"reward_model", "prompt"} {
		if !hasField(pf.Schema().Fields(), col) {
			return nil, fmt.Errorf("%s: no %q column; want a Search-R1/verl question file", name, col)
		}
	}
	if n := pf.NumRows(); n < 0 || n > maxParquetRows {
		return nil, fmt.Errorf("%s: %d rows; a question file has at most %d", name, n, maxParquetRows)
	}
	if err := parquetguard.CheckPages(r, size, pf); err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", name, err)
	}
	rd := parquet.NewGenericReader[any](pf)
	defer rd.Close()
	buf := make([]any, 256)
	seen := map[string]int{}
	row := 0
	for {
		n, rerr := rd.Read(buf)
		for _, v := range buf[:n] {
			row++
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", name, row, err)
			}
			if f, err := detect(b); err != nil || f != FormatSearchR1 {
				return nil, fmt.Errorf("%s: row %d: not a Search-R1 question row (%v)", name, row, err)
			}
			q, err := decodeSearchR1(b, row-1)
			if err == nil {
				err = check(&q, FormatSearchR1)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", name, row, err)
			}
			key := q.Dataset + "\x00" + q.ID // unique per data source, as in ParseQuestions
			if prev, ok := seen[key]; ok {
				return nil, fmt.Errorf("%s: row %d: question id %q repeats row %d", name, row, q.ID, prev)
			}
			seen[key] = row
			qs = append(qs, q)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%s: row %d: %w", name, row+1, rerr)
		}
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: no questions", name)
	}
	return qs, nil
}
