// Package engine puts the retrieval engines that bench/ compares — sleuth's
// search/bm25, Bleve v2 and SQLite FTS5 — behind one small interface, so the
// harness builds, opens and queries each of them the same way.
//
// Every engine indexes a passage's title and text together, stores the text
// (so index sizes on disk are comparable) and ranks with BM25 over a
// disjunction of the query's terms. Parameters and analyzers differ between
// engines; the package doc of each implementation says how. The harness
// compares speed and size, not rankings.
package engine

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// Engine builds an index on disk and opens it for searching.
type Engine interface {
	// Build writes a fresh index of passages into dir, which must be empty
	// or absent, and returns once everything is on disk.
	Build(ctx context.Context, dir string, passages iter.Seq[corpus.Passage]) error
	// Open opens the index that Build wrote in dir.
	Open(ctx context.Context, dir string) (Index, error)
}

// Index answers queries on an opened index. Search is safe for concurrent
// use by many goroutines; Close must not run concurrently with Search.
type Index interface {
	// Search returns the ids of the top k passages for query, best first.
	Search(ctx context.Context, query string, k int) ([]string, error)
	Close() error
}

// Names lists the engines New knows, in the order reports show them.
func Names() []string { return []string{"sleuth", "bleve", "fts5"} }

// New returns the engine with the given name (see Names).
func New(name string) (Engine, error) {
	switch name {
	case "sleuth":
		return sleuthEngine{}, nil
	case "bleve":
		return bleveEngine{}, nil
	case "fts5":
		return fts5Engine{}, nil
	}
	return nil, fmt.Errorf("unknown engine %q (want one of %s)", name, strings.Join(Names(), ", "))
}
