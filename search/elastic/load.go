package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search/bm25"
)

// LoadOptions configure Load.
type LoadOptions struct {
	BM25     bm25.Params
	Analyzer bm25.AnalyzerConfig
	// BatchDocs and BatchBytes close a _bulk request; 0 means 1,000
	// documents and 8 MiB.
	BatchDocs  int
	BatchBytes int
	// Progress, when set, is called with the passages confirmed indexed.
	Progress func(done int)
}

// LoadStats describe a finished load.
type LoadStats struct {
	Passages int `json:"passages"`
	Requests int `json:"requests"` // _bulk requests sent, retries included
	// Retried counts documents the cluster rejected with 429 and that
	// were sent again.
	Retried int     `json:"retried"`
	Seconds float64 `json:"seconds"`
}

// Load creates cfg's index with Settings(opt.BM25, opt.Analyzer) and
// bulk-loads the passages into it, then refreshes it so that searches see
// them. The index must not exist. Every passage is either confirmed by
// its bulk item's status or named in the returned error: documents
// rejected with 429 are sent again (alone) after a back-off, up to
// Config.MaxRetries times; any other item error stops the load with the
// ids and reasons; a malformed _bulk answer stops it too, since which
// documents it indexed is then unknown. Passages before the failing batch
// are all indexed.
func Load(ctx context.Context, cfg Config, passages iter.Seq2[corpus.Passage, error], opt LoadOptions) (LoadStats, error) {
	start := time.Now()
	c, err := newClient(cfg)
	if err != nil {
		return LoadStats{}, err
	}
	if opt.BatchDocs <= 0 {
		opt.BatchDocs = 1000
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 8 << 20
	}
	index := "/" + url.PathEscape(cfg.Index)
	if _, err := c.do(ctx, http.MethodPut, index, Settings(opt.BM25, opt.Analyzer), "application/json"); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Type == "resource_already_exists_exception" {
			return LoadStats{}, fmt.Errorf("%w (delete it first, or load into another index name)", err)
		}
		return LoadStats{}, fmt.Errorf("create index: %w", err)
	}
	l := &loader{c: c, path: index + "/_bulk", opt: opt}
	for p, err := range passages {
		if err != nil {
			return l.st, fmt.Errorf("read passages: %w", err)
		}
		if err := l.add(ctx, p); err != nil {
			return l.st, err
		}
	}
	if err := l.flush(ctx); err != nil {
		return l.st, err
	}
	if _, err := c.do(ctx, http.MethodPost, index+"/_refresh", nil, ""); err != nil {
		return l.st, fmt.Errorf("refresh after loading %d passages: %w", l.st.Passages, err)
	}
	l.st.Seconds = time.Since(start).Seconds()
	return l.st, nil
}

// loader batches documents into _bulk requests.
type loader struct {
	c     *client
	path  string
	opt   LoadOptions
	ids   []string
	lines [][]byte // per document: action line and source line
	size  int
	st    LoadStats
}

func (l *loader) add(ctx context.Context, p corpus.Passage) error {
	if p.ID == "" {
		return fmt.Errorf("passage %d has no id: the index needs one per passage", l.st.Passages+len(l.ids))
	}
	action, err := json.Marshal(map[string]any{"index": map[string]string{"_id": p.ID}})
	if err != nil {
		return err
	}
	src, err := json.Marshal(map[string]any{
		fieldContents: p.Title + "\n" + p.Text,
		fieldPassage:  storedPassage{Title: p.Title, Text: p.Text, Meta: p.Meta},
	})
	if err != nil {
		return fmt.Errorf("passage %s: %w", p.ID, err)
	}
	doc := append(append(append(action, '\n'), src...), '\n')
	l.ids, l.lines = append(l.ids, p.ID), append(l.lines, doc)
	l.size += len(doc)
	if len(l.ids) >= l.opt.BatchDocs || l.size >= l.opt.BatchBytes {
		return l.flush(ctx)
	}
	return nil
}

// flush sends the batch, then again the documents rejected with 429,
// until all are confirmed or the retries are spent.
func (l *loader) flush(ctx context.Context) error {
	ids, lines := l.ids, l.lines
	for attempt := 0; len(ids) > 0; attempt++ {
		if attempt > 0 {
			if attempt > l.c.retries {
				return fmt.Errorf("%s _bulk: %d documents still rejected with 429 after %d retries (first: %s); the %d passages before this batch are indexed",
					l.c.cfg.Flavor, len(ids), l.c.retries, ids[0], l.st.Passages)
			}
			select {
			case <-time.After(l.c.backoff(attempt)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var body []byte
		for _, d := range lines {
			body = append(body, d...)
		}
		l.st.Requests++
		sent := ids
		raw, err := l.c.do(ctx, http.MethodPost, l.path, body, "application/x-ndjson")
		if err == nil {
			var items []bulkItem
			if items, err = parseBulk(raw, len(ids)); err == nil {
				ids, lines, err = l.settle(ids, lines, items)
			}
		}
		if err != nil {
			return fmt.Errorf("loading passages %s … %s (the %d before them are indexed): %w", sent[0], sent[len(sent)-1], l.st.Passages, err)
		}
	}
	l.ids, l.lines, l.size = l.ids[:0], l.lines[:0], 0
	return nil
}

// settle counts the confirmed documents and returns those rejected with
// 429, to send again; any other item error fails the batch.
func (l *loader) settle(ids []string, lines [][]byte, items []bulkItem) ([]string, [][]byte, error) {
	var again []int
	var failed []string
	for i, it := range items {
		switch {
		case it.ID != "" && it.ID != ids[i]:
			return nil, nil, fmt.Errorf("malformed _bulk response: item %d is for id %q, sent %q", i, it.ID, ids[i])
		case it.Status >= 200 && it.Status <= 299 && it.Error == nil:
		case it.Status == http.StatusTooManyRequests:
			again = append(again, i)
		default:
			reason := "no error given"
			if it.Error != nil {
				reason = it.Error.Type + ": " + it.Error.Reason
			}
			failed = append(failed, fmt.Sprintf("%s (status %d, %s)", ids[i], it.Status, reason))
		}
	}
	if len(failed) > 0 {
		more := ""
		if len(failed) > 3 {
			more = fmt.Sprintf(" and %d more", len(failed)-3)
		}
		return nil, nil, fmt.Errorf("%d of %d documents were refused: %s%s", len(failed), len(ids), strings.Join(failed[:min(3, len(failed))], "; "), more)
	}
	l.st.Passages += len(ids) - len(again)
	l.st.Retried += len(again)
	if l.opt.Progress != nil {
		l.opt.Progress(l.st.Passages)
	}
	nids, nlines := make([]string, len(again)), make([][]byte, len(again))
	for j, i := range again {
		nids[j], nlines[j] = ids[i], lines[i]
	}
	return nids, nlines, nil
}
