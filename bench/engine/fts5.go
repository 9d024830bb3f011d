//go:build sqlite_fts5 || fts5

package engine

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver; FTS5 needs -tags sqlite_fts5

	"github.com/sleuth-research/sleuth/corpus"
)

// FTS5's layout: one virtual table t(id UNINDEXED, title, text) with the
// default unicode61 tokenizer (Unicode words, lowercase, diacritics folded,
// no stemming, no stop words). FTS5 stores the column values itself. Queries
// are an OR of the quoted terms ranked by bm25(t), whose k1=1.2 and b=0.75
// are fixed in FTS5; each column is scored separately and the scores summed.
const fts5File = "fts5.db"

type fts5Engine struct{}

func (fts5Engine) Build(ctx context.Context, dir string, passages iter.Seq[corpus.Passage]) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("fts5: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, fts5File)
	// A bulk load does not need a rollback journal or per-commit fsync.
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return fmt.Errorf("fts5: open %s: %w", path, err)
	}
	defer db.Close()
	if err := fts5Load(ctx, db, passages); err != nil {
		return fmt.Errorf("fts5: build %s: %w", path, err)
	}
	// An index published for reading has its b-tree segments merged into
	// one (optimize) and the pages that frees given back (VACUUM, about a
	// fifth of the file); both are part of the build time.
	if _, err := db.ExecContext(ctx, "INSERT INTO t(t) VALUES('optimize')"); err != nil {
		return fmt.Errorf("fts5: optimize %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("fts5: vacuum %s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("fts5: close %s: %w", path, err)
	}
	return nil
}

// fts5Load inserts every passage in one transaction.
func fts5Load(ctx context.Context, db *sql.DB, passages iter.Seq[corpus.Passage]) error {
	if _, err := db.ExecContext(ctx, "CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, text)"); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO t(id, title, text) VALUES (?, ?, ?)")
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer stmt.Close()
	for p := range passages {
		if _, err := stmt.ExecContext(ctx, p.ID, p.Title, p.Text); err != nil {
			return fmt.Errorf("insert passage %s: %w", p.ID, err)
		}
	}
	return tx.Commit()
}

func (fts5Engine) Open(ctx context.Context, dir string) (Index, error) {
	path := filepath.Join(dir, fts5File)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("fts5: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=true")
	if err != nil {
		return nil, fmt.Errorf("fts5: open %s: %w", path, err)
	}
	// One connection per core lets the all-core measurement run queries in
	// parallel; each connection keeps its own page cache.
	db.SetMaxOpenConns(runtime.NumCPU())
	db.SetMaxIdleConns(runtime.NumCPU())
	stmt, err := db.PrepareContext(ctx, "SELECT id FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("fts5: prepare query on %s: %w", path, err)
	}
	return &fts5Index{db: db, stmt: stmt}, nil
}

type fts5Index struct {
	db   *sql.DB
	stmt *sql.Stmt
}

func (f *fts5Index) Search(ctx context.Context, q string, k int) ([]string, error) {
	match := fts5Match(q)
	if match == "" {
		return nil, nil
	}
	rows, err := f.stmt.QueryContext(ctx, match, k)
	if err != nil {
		return nil, fmt.Errorf("fts5: search %q: %w", q, err)
	}
	defer rows.Close()
	ids := make([]string, 0, k)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("fts5: search %q: %w", q, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fts5: search %q: %w", q, err)
	}
	return ids, nil
}

func (f *fts5Index) Close() error {
	f.stmt.Close()
	return f.db.Close()
}

// fts5Match turns a free-text query into an FTS5 expression: each
// whitespace-separated term double-quoted (so words such as NOT or NEAR and
// punctuation are taken literally), joined by OR. NUL bytes separate terms
// too: SQLite ends a MATCH string at the first one.
func fts5Match(q string) string {
	terms := strings.FieldsFunc(q, func(r rune) bool { return r == 0 || unicode.IsSpace(r) })
	for i, t := range terms {
		terms[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(terms, " OR ")
}
