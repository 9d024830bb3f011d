//go:build !sqlite_fts5 && !fts5

package engine

import (
	"context"
	"errors"
	"iter"

	"github.com/sleuth-research/sleuth/corpus"
)

// errNoFTS5 explains the one way to get the FTS5 engine: mattn/go-sqlite3
// compiles FTS5 in only under this build tag.
var errNoFTS5 = errors.New("fts5: this binary was built without FTS5; build with -tags sqlite_fts5 (and CGO_ENABLED=1)")

type fts5Engine struct{}

func (fts5Engine) Build(context.Context, string, iter.Seq[corpus.Passage]) error { return errNoFTS5 }

func (fts5Engine) Open(context.Context, string) (Index, error) { return nil, errNoFTS5 }
