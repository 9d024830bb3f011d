//go:build !unix

package dense

import (
	"io"
	"os"
)

// mapFile reads the whole file where memory mapping is not wired up.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	buf := make([]uint64, (size+7)/8) // 8-byte aligned for the zero-copy views
	data := u64Bytes(buf)[:size]
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
