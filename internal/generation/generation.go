// Package generation publishes immutable index directories atomically. An
// index directory holds generation subdirectories ("gen-000001", …) and a
// CURRENT file naming the published one. A build writes a fresh generation,
// syncs it, then renames a new CURRENT into place, so a reader always finds
// a complete generation; a build killed part way leaves only a stray
// generation that the next publish removes.
//
// search/bm25 keeps its own copy of this scheme (same layout); new indexes
// use this package.
package generation

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const (
	// CurrentFile names the published generation.
	CurrentFile = "CURRENT"
	prefix      = "gen-"
)

// ErrNoIndex reports a directory with no published generation.
var ErrNoIndex = errors.New("no published index")

// Next creates dir if needed and a fresh generation directory newer than
// every one in dir, published or stray, and returns its name and path.
func Next(dir string) (name, path string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("index %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("index %s: %w", dir, err)
	}
	top := 0
	for _, e := range ents {
		if n, ok := number(e.Name()); ok && n > top {
			top = n
		}
	}
	name = fmt.Sprintf("%s%06d", prefix, top+1)
	path = filepath.Join(dir, name)
	if err := os.Mkdir(path, 0o755); err != nil {
		return "", "", fmt.Errorf("index %s: %w", dir, err)
	}
	return name, path, nil
}

func number(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// Publish syncs generation gen of dir, points CURRENT at it atomically, then
// removes every other generation. Files in gen must already be synced.
func Publish(dir, gen string) error {
	if err := SyncDir(filepath.Join(dir, gen)); err != nil {
		return err
	}
	tmp := filepath.Join(dir, CurrentFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("publish %s: %w", dir, err)
	}
	if _, err := f.WriteString(gen + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("publish %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("publish %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("publish %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, CurrentFile)); err != nil {
		return fmt.Errorf("publish %s: %w", dir, err)
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	for _, e := range ents {
		// Readers that mapped an old generation keep it: on Unix the
		// mapping outlives the unlink.
		if _, ok := number(e.Name()); ok && e.Name() != gen {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// Current returns the published generation's directory.
func Current(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, CurrentFile))
	if err != nil {
		return "", fmt.Errorf("open index %s: %w: %w", dir, ErrNoIndex, err)
	}
	gen := strings.TrimSpace(string(b))
	if _, ok := number(gen); !ok {
		return "", fmt.Errorf("open index %s: %s names %q, not a generation", dir, CurrentFile, gen)
	}
	return filepath.Join(dir, gen), nil
}

// SyncDir fsyncs a directory so renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
