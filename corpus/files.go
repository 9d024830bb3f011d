package corpus

import (
	"fmt"
	"hash/maphash"
	"io"
	"iter"
	"path/filepath"
	"strings"
)

// ReadFiles streams the passages of every file in order, adding each
// file's skipped-record count to *skipped as it finishes the file. Ids
// must be unique across the files (each reader checks its own file; a
// repeat across files is an error that names both); with prefixIDs every
// id becomes "<file name>:<id>" (`sleuth index --prefix-ids`).
func ReadFiles(files []string, opt Options, prefixIDs bool, skipped *int) iter.Seq2[Passage, error] {
	return func(yield func(Passage, error) bool) {
		seed := maphash.MakeSeed()
		seen := map[uint64]int{} // id hash → index of the file that had it
		for fi, path := range files {
			name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			r, err := Open(path, opt)
			if err != nil {
				yield(Passage{}, err)
				return
			}
			for {
				p, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					r.Close()
					yield(Passage{}, err)
					return
				}
				if prefixIDs {
					p.ID = name + ":" + p.ID
				}
				if len(files) > 1 {
					h := maphash.String(seed, p.ID)
					if first, dup := seen[h]; dup && first != fi {
						r.Close()
						yield(Passage{}, fmt.Errorf("passage id %q of %s is also an id in %s; give each corpus its own ids or use --prefix-ids", p.ID, path, files[first]))
						return
					}
					seen[h] = fi
				}
				if !yield(p, nil) {
					r.Close()
					return
				}
			}
			*skipped += r.Skipped()
			if err := r.Close(); err != nil {
				yield(Passage{}, fmt.Errorf("close %s: %w", path, err))
				return
			}
		}
	}
}
