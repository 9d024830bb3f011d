//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package eval

import "os"

// tryLock is a no-op where the OS has no flock (Windows, Plan 9, wasm):
// there concurrent runs into one directory are not detected. A lock file
// made with O_EXCL would outlive a killed run and block its resume, which
// is worse than no lock.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }
