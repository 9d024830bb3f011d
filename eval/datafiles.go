package eval

import (
	"path/filepath"
	"strings"
)

// LoadDataFiles reads every question file of paths (the first limit of
// each when limit > 0) as one evaluation: each question's Dataset is the
// file's base name unless the file names its sets, and ids are prefixed
// with the file's name (and, in a merged file such as Search-R1's
// test.parquet whose ids repeat across its sets, the set's), so they stay
// unique across files.
func LoadDataFiles(paths []string, limit int) ([]Question, error) {
	var qs []Question
	for _, path := range paths {
		part, err := LoadQuestions(path)
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(part) > limit {
			part = part[:limit]
		}
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		multi := false
		for _, q := range part {
			multi = multi || q.Dataset != part[0].Dataset
		}
		for i := range part {
			if part[i].Dataset == "" {
				part[i].Dataset = name
			}
			part[i].ID = name + ":" + part[i].ID
			if multi {
				part[i].ID = name + ":" + part[i].Dataset + ":" + strings.TrimPrefix(part[i].ID, name+":")
			}
		}
		qs = append(qs, part...)
	}
	return qs, nil
}
