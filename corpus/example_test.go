package corpus_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sleuth-research/sleuth/corpus"
)

func ExampleReadAll() {
	dir, _ := os.MkdirTemp("", "corpus-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "wiki.jsonl")
	os.WriteFile(path, []byte(`{"id": "0", "contents": "\"Evan Morris\"\nEvan Morris was a lobbyist."}
{"id": "1", "contents": "oops"
{"id": "2", "contents": "\"Roche\"\nRoche is a company."}
`), 0o644)

	n, skipped, err := corpus.ReadAll(context.Background(), []string{path}, corpus.Options{SkipBad: true, Logger: slog.New(slog.DiscardHandler)},
		func(p corpus.Passage) error {
			fmt.Printf("%s %q: %s\n", p.ID, p.Title, p.Text)
			return nil
		})
	fmt.Println(n, skipped, err)
	// Output:
	// 0 "Evan Morris": Evan Morris was a lobbyist.
	// 2 "Roche": Roche is a company.
	// 2 1 <nil>
}
