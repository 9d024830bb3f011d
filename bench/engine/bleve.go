package engine

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/sleuth-research/sleuth/corpus"
)

// Bleve's layout: one analysed field "body" holding title and text (so BM25
// sees one field, as sleuth's index does), plus "title" and "text" stored but
// not indexed, so the index carries the passage text as the others do. The
// scorch index type (Bleve v2's default) with BM25 scoring (k1=1.2, b=0.75,
// Bleve's fixed constants) and the standard analyzer (Unicode words,
// lowercase, English stop words, no stemming). The build ends with a forced
// merge into one segment, as the FTS5 build ends with optimize, and waits
// until the pre-merge files are deleted.
const (
	bleveBody      = "body"
	bleveBatchSize = 1000
)

type bleveEngine struct{}

func bleveMapping() *mapping.IndexMappingImpl {
	body := bleve.NewTextFieldMapping()
	body.Analyzer = standard.Name
	body.Store = false
	body.IncludeInAll = false
	body.IncludeTermVectors = false
	body.DocValues = false

	stored := bleve.NewTextFieldMapping()
	stored.Index = false
	stored.Store = true
	stored.IncludeInAll = false
	stored.IncludeTermVectors = false
	stored.DocValues = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(bleveBody, body)
	doc.AddFieldMappingsAt("title", stored)
	doc.AddFieldMappingsAt("text", stored)

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = standard.Name
	m.ScoringModel = index.BM25Scoring
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m
}

func (bleveEngine) Build(ctx context.Context, dir string, passages iter.Seq[corpus.Passage]) error {
	idx, err := bleve.New(dir, bleveMapping())
	if err != nil {
		return fmt.Errorf("bleve: create %s: %w", dir, err)
	}
	// Batches amortise Bleve's per-update segment work; 1000 documents per
	// batch is what its docs suggest for bulk loads.
	b := idx.NewBatch()
	flush := func() error {
		if b.Size() == 0 {
			return nil
		}
		if err := idx.Batch(b); err != nil {
			return fmt.Errorf("bleve: index batch in %s: %w", dir, err)
		}
		b.Reset()
		return nil
	}
	for p := range passages {
		if err := ctx.Err(); err != nil {
			idx.Close()
			return err
		}
		doc := map[string]string{bleveBody: p.Title + "\n" + p.Text, "title": p.Title, "text": p.Text}
		if err := b.Index(p.ID, doc); err != nil {
			idx.Close()
			return fmt.Errorf("bleve: index passage %s: %w", p.ID, err)
		}
		if b.Size() >= bleveBatchSize {
			if err := flush(); err != nil {
				idx.Close()
				return err
			}
		}
	}
	if err := flush(); err != nil {
		idx.Close()
		return err
	}
	if err := bleveMergeOne(ctx, idx, dir); err != nil {
		idx.Close()
		return err
	}
	if err := idx.Close(); err != nil {
		return fmt.Errorf("bleve: close %s: %w", dir, err)
	}
	return nil
}

// bleveMergeOne force-merges the index until one segment file is left on
// disk, so it is served as FTS5's is after optimize and its size on disk is
// the index as served. A segment persisted while a merge ran can survive
// it, hence the retries; and scorch keeps one older snapshot for rollback
// (NumSnapshotsToKeep = 1), which still holds the pre-merge segments until a
// small internal update makes a newer snapshot. It gives up after a few
// tries with a warning (the size then includes the extra files).
func bleveMergeOne(ctx context.Context, idx bleve.Index, dir string) error {
	store := filepath.Join(dir, "store")
	for i := range 5 {
		if err := bleveForceMerge(ctx, idx); err != nil {
			return fmt.Errorf("bleve: merge %s: %w", dir, err)
		}
		for j := range 2 {
			if err := idx.SetInternal([]byte("sleuth-bench"), []byte{byte(i), byte(j)}); err != nil {
				return fmt.Errorf("bleve: update %s: %w", dir, err)
			}
		}
		for range 50 {
			zaps, err := filepath.Glob(filepath.Join(store, "*.zap"))
			if err != nil {
				return fmt.Errorf("bleve: list %s: %w", store, err)
			}
			if len(zaps) <= 1 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	slog.Warn("bleve: more than one segment file left after merging; the index size includes them", "dir", store)
	return nil
}

// bleveForceMerge merges the index into one segment, as FTS5's optimize
// does: the state of an index published for reading, and part of the build.
func bleveForceMerge(ctx context.Context, idx bleve.Index) error {
	adv, err := idx.Advanced()
	if err != nil {
		return err
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return fmt.Errorf("index type %T is not scorch", adv)
	}
	return s.ForceMerge(ctx, nil) // nil: merge into a single segment
}

func (bleveEngine) Open(_ context.Context, dir string) (Index, error) {
	idx, err := bleve.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("bleve: open %s: %w", dir, err)
	}
	return bleveIndex{idx: idx}, nil
}

type bleveIndex struct{ idx bleve.Index }

func (b bleveIndex) Search(ctx context.Context, q string, k int) ([]string, error) {
	mq := bleve.NewMatchQuery(q)
	mq.SetField(bleveBody)
	mq.SetOperator(query.MatchQueryOperatorOr)
	req := bleve.NewSearchRequestOptions(mq, k, 0, false)
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("bleve: search %q: %w", q, err)
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

func (b bleveIndex) Close() error { return b.idx.Close() }
