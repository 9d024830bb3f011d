package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// DefaultCacheTTL is how long cached results are served: 7 days, as
// DeepResearcher caches its search results.
const DefaultCacheTTL = 7 * 24 * time.Hour

// Cache is a persistent map from (provider, normalised query, k) to results,
// in a SQLite file. It is safe for concurrent use, also by several processes
// sharing the file.
type Cache struct {
	db   *sql.DB
	path string
	ttl  time.Duration
	now  func() time.Time
}

// CacheConfig configures OpenCache.
type CacheConfig struct {
	// TTL is how long an entry is served. Default DefaultCacheTTL.
	TTL time.Duration
	// Now is the clock. Default time.Now; tests move it.
	Now func() time.Time
}

// OpenCache opens (creating if needed) the cache database at path.
func OpenCache(path string, cfg CacheConfig) (*Cache, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open search cache %s: %w", path, err)
	}
	const schema = `CREATE TABLE IF NOT EXISTS results (
		key        TEXT PRIMARY KEY,
		provider   TEXT NOT NULL,
		query      TEXT NOT NULL,
		k          INTEGER NOT NULL,
		results    BLOB NOT NULL,
		fetched_at INTEGER NOT NULL
	)`
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open search cache %s: %w", path, err)
	}
	return &Cache{db: db, path: path, ttl: cfg.TTL, now: cfg.Now}, nil
}

// Close closes the database.
func (c *Cache) Close() error { return c.db.Close() }

// NormalizeQuery is the cache's notion of "the same query": surrounding
// space trimmed, inner runs of white space made one space, lower-cased (web
// search engines ignore case).
func NormalizeQuery(q string) string {
	return strings.ToLower(strings.Join(strings.Fields(q), " "))
}

func cacheKey(provider, query string, k int) string {
	return provider + "\x1f" + strconv.Itoa(k) + "\x1f" + NormalizeQuery(query)
}

// Get returns the results cached for the query, if any are younger than the TTL.
func (c *Cache) Get(ctx context.Context, provider, query string, k int) ([]Result, bool, error) {
	var (
		body []byte
		at   int64
	)
	err := c.db.QueryRowContext(ctx, `SELECT results, fetched_at FROM results WHERE key = ?`,
		cacheKey(provider, query, k)).Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("search cache %s: read %s %q: %w", c.path, provider, query, err)
	}
	if c.now().Sub(time.Unix(0, at)) > c.ttl {
		return nil, false, nil
	}
	var res []Result
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, false, fmt.Errorf("search cache %s: entry %s %q: %w", c.path, provider, query, err)
	}
	return res, true, nil
}

// Put stores results for the query, replacing any older entry.
func (c *Cache) Put(ctx context.Context, provider, query string, k int, res []Result) error {
	if res == nil {
		res = []Result{}
	}
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("search cache %s: encode %s %q: %w", c.path, provider, query, err)
	}
	_, err = c.db.ExecContext(ctx, `INSERT OR REPLACE INTO results (key, provider, query, k, results, fetched_at)
		VALUES (?, ?, ?, ?, ?, ?)`, cacheKey(provider, query, k), provider, NormalizeQuery(query), k, body,
		c.now().UnixNano())
	if err != nil {
		return fmt.Errorf("search cache %s: write %s %q: %w", c.path, provider, query, err)
	}
	return nil
}

// Prune deletes entries older than the TTL and returns how many it deleted.
func (c *Cache) Prune(ctx context.Context) (int64, error) {
	r, err := c.db.ExecContext(ctx, `DELETE FROM results WHERE fetched_at < ?`, c.now().Add(-c.ttl).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("search cache %s: prune: %w", c.path, err)
	}
	return r.RowsAffected()
}
