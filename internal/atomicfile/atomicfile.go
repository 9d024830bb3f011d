// Package atomicfile writes whole files so that a reader, or a process
// killed midway, sees either the old content or the new, never a torn
// file: the bytes go to PATH.tmp, are synced, and the temporary is renamed
// over PATH.
package atomicfile

import (
	"fmt"
	"os"
)

// Write replaces path with b atomically.
func Write(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
