package guard

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
)

// CorpusScreen is what the guard flags in a corpus whose every passage is
// taken as benign: its false-flag rate.
type CorpusScreen struct {
	Passages, Flagged int
	// Examples are the first five flagged passages: id, rules and the
	// start of the text.
	Examples []string
}

// Rate is the share of passages flagged (0 for none).
func (c CorpusScreen) Rate() float64 {
	if c.Passages == 0 {
		return 0
	}
	return float64(c.Flagged) / float64(c.Passages)
}

// ScreenCorpus screens the title and text of every passage of the corpus
// at path (the first limit when limit > 0), skipping malformed records.
func ScreenCorpus(ctx context.Context, path string, limit int) (CorpusScreen, error) {
	var c CorpusScreen
	errStop := errors.New("limit")
	_, _, err := corpus.ReadAll(ctx, []string{path}, corpus.Options{SkipBad: true}, func(p corpus.Passage) error {
		if limit > 0 && c.Passages == limit {
			return errStop
		}
		c.Passages++
		if v := Screen(p.Title + "\n" + p.Text); v.Flagged {
			c.Flagged++
			if len(c.Examples) < 5 {
				text := p.Text
				if len(text) > 160 {
					text = text[:160] + "…"
				}
				c.Examples = append(c.Examples, fmt.Sprintf("  %s (%s): %q", p.ID, strings.Join(v.Rules, ","), text))
			}
		}
		return nil
	})
	if err != nil && err != errStop {
		return c, err
	}
	return c, nil
}
