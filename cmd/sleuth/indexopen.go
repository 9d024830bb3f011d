package main

import (
	"context"

	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/elastic"
)

// openedIndex is what --index named, open for searching.
type openedIndex struct {
	search.Retriever
	Backend   string // bm25, elasticsearch or opensearch
	Documents int64  // 0 where unknown
	Close     func()
}

// openIndex opens what an --index flag names: es:URL/INDEX or
// os:URL/INDEX (an Elasticsearch or OpenSearch index), or else a bm25
// index directory, sharded or not. Every command that searches an index
// opens it here, so each accepts every kind.
func openIndex(ctx context.Context, spec string) (*openedIndex, error) {
	if cfg, ok, err := elastic.ParseSpec(spec); ok || err != nil {
		if err != nil {
			return nil, err
		}
		r, err := elastic.NewRetriever(cfg)
		if err != nil {
			return nil, err
		}
		n, err := r.Count(ctx)
		if err != nil {
			return nil, err
		}
		return &openedIndex{Retriever: r, Backend: string(cfg.Flavor), Documents: n, Close: func() {}}, nil
	}
	ix, err := bm25.OpenSharded(spec)
	if err != nil {
		return nil, err
	}
	return &openedIndex{Retriever: ix, Backend: "bm25", Documents: int64(ix.Len()), Close: func() { ix.Close() }}, nil
}
