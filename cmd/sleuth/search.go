package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/backend"
)

// searchFields are the hit fields --fields may name.
var searchFields = []string{"id", "title", "text", "score", "rank"}

func newSearchCmd() *cobra.Command {
	var (
		dir, queries string
		k            int
		asJSON       bool
		fields       []string
	)
	cmd := &cobra.Command{
		Use:   "search --index DIR [-k 10] [--json] [--fields id,score] (QUERY... | --queries FILE)",
		Short: "Query a BM25 index (sleuth's own, or Elasticsearch/OpenSearch)",
		Long: "Query the embedded BM25 index. With --queries FILE every line is one query and the\n" +
			"output is JSONL, one line of hits per query, in order.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("search: --index is required")
			}
			if k <= 0 {
				return errors.New("search: -k must be positive")
			}
			for _, f := range fields {
				if !slices.Contains(searchFields, f) {
					return fmt.Errorf("search: unknown field %q (have %s)", f, strings.Join(searchFields, ","))
				}
			}
			qs := []string{strings.Join(args, " ")}
			jsonl := asJSON || len(fields) > 0
			if queries != "" {
				if len(args) > 0 {
					return errors.New("search: give queries as arguments or --queries, not both")
				}
				var err error
				if qs, err = readLines(queries); err != nil {
					return err
				}
				jsonl = true
			} else if len(args) == 0 {
				return errors.New("search: no query (give QUERY... or --queries FILE)")
			}
			ix, err := backend.OpenIndex(cmd.Context(), dir)
			if err != nil {
				return err
			}
			defer ix.Close()
			res, err := ix.Search(cmd.Context(), qs, k)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			for _, hits := range res {
				if jsonl {
					if err := writeJSON(w, hitRecords(hits, fields)); err != nil {
						return err
					}
					continue
				}
				for _, h := range hits {
					fmt.Fprintf(w, "%d. [%s] %.4f  %s\n   %s\n", h.Rank+1, h.Passage.ID, h.Score, h.Passage.Title, snippet(h.Passage.Text, 200))
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "index", "", "index directory built by sleuth index (sharded or not), or es:URL/INDEX, os:URL/INDEX")
	fl.IntVarP(&k, "k", "k", 10, "hits per query")
	fl.BoolVar(&asJSON, "json", false, "print hits as JSON (always on with --queries)")
	fl.StringSliceVar(&fields, "fields", nil, "print only these hit fields as JSON: id,title,text,score,rank")
	fl.StringVar(&queries, "queries", "", "file with one query per line")
	return cmd
}

// hitRecords renders hits as JSON objects with the chosen fields (all when
// none are named).
func hitRecords(hits []search.Hit, fields []string) []map[string]any {
	if len(fields) == 0 {
		fields = searchFields
	}
	out := make([]map[string]any, len(hits))
	for i, h := range hits {
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			switch f {
			case "id":
				m["id"] = h.Passage.ID
			case "title":
				m["title"] = h.Passage.Title
			case "text":
				m["text"] = h.Passage.Text
			case "score":
				m["score"] = h.Score
			case "rank":
				m["rank"] = h.Rank
			}
		}
		out[i] = m
	}
	return out
}

// readLines reads one query per line; blank lines are kept as empty
// queries so output lines stay aligned with input lines.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("queries %s: %w", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("queries %s line %d: %w", path, len(out)+1, err)
	}
	return out, nil
}

func snippet(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
