// Package atomicfile is sleuth's one way to write a file or a directory so
// that a reader, or a process killed at any moment (kill -9, power loss),
// sees either the old content or the new, never a torn file and never
// nothing where something was.
//
// A file is written to a temporary file with a unique name, created
// exclusively (O_EXCL: an attacker's symlink at a guessable name is never
// followed) in the same directory, synced, renamed over the target, and
// the directory is synced so the rename itself survives a crash. A
// directory (a saved policy: weights, config, tokenizer) is written whole
// to a temporary directory, synced file by file, and swapped with the old
// one in a single rename (RENAME_EXCHANGE on Linux), so the target always
// holds a complete version.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// Write replaces path with b atomically.
func Write(path string, b []byte) error {
	return WriteFunc(path, func(w *bufio.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteFunc replaces path atomically with what fill writes. The file keeps
// the mode of the file it replaces, or gets 0644. If fill fails nothing
// changes and the temporary file is removed.
func WriteFunc(path string, fill func(w *bufio.Writer) error) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Lstat(path); err == nil && st.Mode().IsRegular() {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
// Where directories cannot be synced (Windows, file systems that answer
// EINVAL or ENOTSUP) it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) && !isENOTSUP(err) {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// ReplaceDir replaces the directory dir with one that fill writes into the
// temporary directory it is given (on the same file system). Every file
// fill leaves is synced before the swap. dir always holds a complete
// version: the old one until the swap, the new one after. A temporary
// directory left by an earlier, killed ReplaceDir of dir is removed.
//
// On Linux the swap is one renameat2(RENAME_EXCHANGE). Elsewhere (or on a
// file system without it) the old directory is first renamed to dir+".prev";
// a crash between the two renames leaves the old version there, and
// RecoverDir puts it back.
func ReplaceDir(dir string, fill func(tmp string) error) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := RecoverDir(dir); err != nil {
		return err
	}
	removeStale(parent, "."+base+".tmp-")
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := syncTree(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("replace %s: %w", dir, err)
		}
		return SyncDir(parent)
	}
	swapped, err := exchange(tmp, dir)
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if !swapped {
		prev := dir + ".prev"
		if err := os.RemoveAll(prev); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("replace %s: %w", dir, err)
		}
		if err := os.Rename(dir, prev); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("replace %s: %w", dir, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			_ = os.Rename(prev, dir)
			os.RemoveAll(tmp)
			return fmt.Errorf("replace %s: %w", dir, err)
		}
		tmp = prev
	}
	if err := SyncDir(parent); err != nil {
		return err
	}
	// tmp now holds the old version.
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("replace %s: remove the old version: %w", dir, err)
	}
	return nil
}

// RecoverDir puts back the old version of dir that a ReplaceDir killed
// between its two renames (see ReplaceDir) left at dir+".prev". It does
// nothing when dir exists or there is nothing to recover.
func RecoverDir(dir string) error {
	prev := filepath.Clean(dir) + ".prev"
	if _, err := os.Lstat(dir); err == nil {
		return nil
	}
	if _, err := os.Lstat(prev); err != nil {
		return nil
	}
	if err := os.Rename(prev, dir); err != nil {
		return fmt.Errorf("recover %s from %s: %w", dir, prev, err)
	}
	return SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// removeStale removes the entries of dir whose names start with prefix.
func removeStale(dir, prefix string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// syncTree fsyncs every regular file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return SyncDir(p)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
