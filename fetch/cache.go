package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// diskCache stores fetched bodies as one JSON file per URL, named by the
// SHA-256 of the URL and fanned out by its first byte. Writes go to a
// temporary file renamed into place, so readers never see half a file.
type diskCache struct {
	dir string
	ttl time.Duration
	now func() time.Time
}

type cacheEntry struct {
	URL         string    `json:"url"`
	FinalURL    string    `json:"final_url"`
	Status      int       `json:"status"`
	ContentType string    `json:"content_type"`
	Body        []byte    `json:"body"`
	Truncated   bool      `json:"truncated"`
	Fetched     time.Time `json:"fetched"`
}

func newDiskCache(dir string, ttl time.Duration, now func() time.Time) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fetch cache %s: %w", dir, err)
	}
	return &diskCache{dir: dir, ttl: ttl, now: now}, nil
}

func (d *diskCache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(d.dir, h[:2], h+".json")
}

// get returns a fresh entry for key. Missing, stale, corrupt or colliding
// files are misses: the cache is an optimisation, never a source of errors.
func (d *diskCache) get(key string) (cacheEntry, bool) {
	b, err := os.ReadFile(d.path(key))
	if err != nil {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.URL != key {
		return cacheEntry{}, false
	}
	if d.now().Sub(e.Fetched) > d.ttl {
		return cacheEntry{}, false
	}
	return e, true
}

func (d *diskCache) put(key string, e cacheEntry) error {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache dir %s: %w", filepath.Dir(p), err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode cache entry %s: %w", key, err)
	}
	if err := atomicfile.Write(p, b); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}
