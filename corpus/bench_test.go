package corpus

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// benchCorpus writes n 100-word passages in a format and returns the path
// and its size.
func benchCorpus(b *testing.B, format Format, n int) (string, int64) {
	b.Helper()
	text := strings.Repeat("the quick brown fox jumps over the lazy dog again ", 10)
	var sb strings.Builder
	var path string
	switch format {
	case FormatSearchR1:
		for i := range n {
			line, _ := json.Marshal(map[string]string{"id": fmt.Sprint(i), "contents": fmt.Sprintf("\"Title %d\"\n%s", i, text)})
			sb.Write(line)
			sb.WriteByte('\n')
		}
		path = writeFile(b, "c.jsonl", []byte(sb.String()))
	case FormatJSONArray:
		sb.WriteString("[\n")
		for i := range n {
			if i > 0 {
				sb.WriteString(",\n")
			}
			rec, _ := json.MarshalIndent(map[string]string{"title": fmt.Sprint("Title ", i), "text": text}, "  ", "  ")
			sb.Write(rec)
		}
		sb.WriteString("\n]\n")
		path = writeFile(b, "c.json", []byte(sb.String()))
	case FormatParquet:
		rows := make([]pqTitleText, n)
		for i := range rows {
			rows[i] = pqTitleText{fmt.Sprint(i), fmt.Sprint("Title ", i), text}
		}
		path = filepath.Join(b.TempDir(), "c.parquet")
		if err := parquet.WriteFile(path, rows); err != nil {
			b.Fatal(err)
		}
		return path, int64(n * (len(text) + 16))
	}
	return path, int64(sb.Len())
}

// BenchmarkRead measures reading throughput per format (bytes are the file
// size; for Parquet, the uncompressed text).
func BenchmarkRead(b *testing.B) {
	for _, f := range []Format{FormatSearchR1, FormatJSONArray, FormatParquet} {
		b.Run(string(f), func(b *testing.B) {
			const n = 20000
			path, size := benchCorpus(b, f, n)
			b.SetBytes(size)
			for b.Loop() {
				r, err := Open(path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				r.Close()
				if got != n {
					b.Fatalf("read %d, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "passages/s")
		})
	}
}

// BenchmarkDecodePassage compares the fast record decoder with
// encoding/json on a wiki-18 line (non-ASCII escapes included).
func BenchmarkDecodePassage(b *testing.B) {
	line := []byte(`{"id": "0", "contents": "\"Evan Morris\"\nEvan Morris Evan L. Morris (January 26, 1977 \u2013 July 9, 2015) was a lobbyist for Genentech and its parent corporation Roche in Washington, D.C. He began his career in Washington as an intern in the Clinton White House at age 18. He began his lobbying work at Patton Boggs before moving on to Roche in 2005. His early work at Roche involved government policy on Medicare and Medicaid, flu preparedness, and hepatitis C. His work at Genentech is being investigated by the Wall Street Journal, which states that \u201cshaping up to be one of the biggest U.S."}`)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if _, ok := fastPassageRecord(line); !ok {
				b.Fatal("fast path refused")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			var rec passageRecord
			if err := json.Unmarshal(line, &rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
