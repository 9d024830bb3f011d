//go:build !linux

package atomicfile

// exchange is not available: the caller falls back to two renames.
func exchange(a, b string) (bool, error) { return false, nil }

func isENOTSUP(err error) bool { return false }
