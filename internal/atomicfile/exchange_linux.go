package atomicfile

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// exchange swaps a and b in one step. It reports false, with no error,
// where the file system cannot (the caller falls back to two renames).
func exchange(a, b string) (bool, error) {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOTSUP):
		return false, nil
	}
	return false, fmt.Errorf("exchange %s and %s: %w", a, b, err)
}

func isENOTSUP(err error) bool { return errors.Is(err, unix.ENOTSUP) }
