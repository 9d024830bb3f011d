//go:build !unix

package model

import "os"

// mapFile reads path whole where memory mapping is not available.
func mapFile(path string) (data []byte, release func(), err error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
