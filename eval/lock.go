package eval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFile is the run directory's lock, held for the life of Run so that
// two processes can never interleave rows in one results.jsonl.
const lockFile = ".lock"

// ErrLocked is wrapped by the error Run returns when another live process
// (or another Run in this one) is writing the same directory.
var ErrLocked = errors.New("another evaluation is writing this directory")

// dirLock is a held lock on a run directory; Unlock releases it.
type dirLock struct{ f *os.File }

// lockDir takes dir's lock without waiting. The lock is an advisory flock
// on dir/.lock where the OS has one (see lock_flock.go), so it is released
// by the kernel when its holder dies: a killed run never leaves a stale
// lock behind and a rerun resumes at once. The holder's pid is written
// into the file only to name it in the refusal.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !held {
		b, _ := os.ReadFile(path)
		f.Close()
		who := "another process"
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			who = "process " + strconv.Itoa(pid)
			if pid == os.Getpid() {
				who = "this process (another run)"
			}
		}
		return nil, fmt.Errorf("eval run %s: %w (held by %s); wait for it to finish, or give --out another directory", dir, ErrLocked, who)
	}
	// Best effort: the pid only improves the message above.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// Unlock releases the lock; the file stays (removing it would race with a
// process that has just opened it).
func (l *dirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
