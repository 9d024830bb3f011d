package bm25

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// An index directory holds generation subdirectories ("gen-000001", …)
// and a CURRENT file naming the published one. Build writes a fresh
// generation, fsyncs it, then renames a new CURRENT into place, so a
// reader always finds a complete generation; a build killed part way
// leaves only a stray generation that the next publish removes.
const (
	currentFile = "CURRENT"
	genPrefix   = "gen-"
)

// nextGeneration names a generation newer than every one in dir,
// published or stray.
func nextGeneration(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("index %s: %w", dir, err)
	}
	top := 0
	for _, e := range ents {
		if n, ok := genNumber(e.Name()); ok && n > top {
			top = n
		}
	}
	return fmt.Sprintf("%s%06d", genPrefix, top+1), nil
}

func genNumber(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, genPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// publish points CURRENT at gen atomically, then removes every other
// generation and stray temporary file.
func publish(dir, gen string) error {
	if err := atomicfile.SyncDir(filepath.Join(dir, gen)); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, currentFile), []byte(gen+"\n")); err != nil {
		return fmt.Errorf("publish %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	for _, e := range ents {
		// Readers that mapped an old generation keep it: on Unix the
		// mapping outlives the unlink.
		if _, ok := genNumber(e.Name()); ok && e.Name() != gen {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// current returns the published generation's directory.
func current(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if err != nil {
		return "", fmt.Errorf("open index %s: %w (no published index here?)", dir, err)
	}
	gen := strings.TrimSpace(string(b))
	if _, ok := genNumber(gen); !ok {
		return "", fmt.Errorf("open index %s: %w: %s names %q, not a generation", dir, errCorrupt, currentFile, gen)
	}
	return filepath.Join(dir, gen), nil
}
