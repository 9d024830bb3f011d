// Package backend opens the retrieval backends a command names by spec: an
// index spec (a BM25 directory, sharded or not, or es:URL/INDEX and
// os:URL/INDEX for Elasticsearch and OpenSearch), an embedder spec (an
// OpenAI-compatible embeddings URL, or local:DIR for a BERT-family model
// run in process), a dense index, and BM25 fused with dense. Every command
// that searches opens its backends here, so each accepts every kind.
package backend

import (
	"context"
	"strings"

	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/search/dense"
	"github.com/sleuth-research/sleuth/search/dense/bert"
	"github.com/sleuth-research/sleuth/search/elastic"
)

// Kind names a retriever: what --retriever takes and what a /retrieve
// request may pick.
type Kind string

// The retriever kinds.
const (
	BM25   Kind = "bm25"
	Dense  Kind = "dense"
	Hybrid Kind = "hybrid"
)

// Index is an open index spec.
type Index struct {
	search.Retriever
	Backend   string // bm25, elasticsearch or opensearch
	Documents int64  // 0 where unknown
	Close     func()
}

// OpenIndex opens what an index spec names: es:URL/INDEX or os:URL/INDEX
// (an Elasticsearch or OpenSearch index, its documents counted), or else
// a bm25 index directory, sharded or not.
func OpenIndex(ctx context.Context, spec string) (*Index, error) {
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
		return &Index{Retriever: r, Backend: string(cfg.Flavor), Documents: n, Close: func() {}}, nil
	}
	ix, err := bm25.OpenSharded(spec)
	if err != nil {
		return nil, err
	}
	return &Index{Retriever: ix, Backend: string(BM25), Documents: int64(ix.Len()), Close: func() { ix.Close() }}, nil
}

// EmbedConfig names an embedder.
type EmbedConfig struct {
	// Spec is an OpenAI-compatible embeddings API base URL (vLLM, TEI,
	// Ollama, llama.cpp), or local:DIR for a BERT-family model directory
	// (config.json, model.safetensors, vocab.txt) run in process.
	Spec string
	// Model and APIKey go to the API; a local model ignores them.
	Model, APIKey string
}

// OpenEmbedder opens the embedder cfg names. A local model gets kernels
// of its own that live as long as the process.
func OpenEmbedder(cfg EmbedConfig) (dense.Embedder, error) {
	if dir, ok := strings.CutPrefix(cfg.Spec, "local:"); ok {
		enc, err := bert.LoadEncoder(dir)
		if err != nil {
			return nil, err
		}
		enc.Model.Kernels = kernels.New(0)
		return enc, nil
	}
	return dense.NewClient(dense.ClientConfig{BaseURL: cfg.Spec, Model: cfg.Model, APIKey: cfg.APIKey})
}

// DenseConfig is a dense index and how to query it.
type DenseConfig struct {
	Dir      string
	Embedder dense.Embedder
	// QueryPrefix goes before every query ("query: " for e5).
	QueryPrefix string
	Options     dense.SearchOptions
}

// OpenDense opens the dense index in cfg.Dir for searching; the closer
// releases it.
func OpenDense(cfg DenseConfig) (*dense.Retriever, func(), error) {
	ix, err := dense.Open(cfg.Dir)
	if err != nil {
		return nil, nil, err
	}
	r := &dense.Retriever{Index: ix, Embedder: cfg.Embedder, QueryPrefix: cfg.QueryPrefix, Options: cfg.Options}
	return r, func() { ix.Close() }, nil
}

// OpenHybrid opens the index spec and fuses it with d as cfg says. The
// returned Index is the one opened (its Close is the caller's); d stays
// the caller's to close.
func OpenHybrid(ctx context.Context, spec string, d search.Retriever, cfg search.HybridConfig) (*search.Hybrid, *Index, error) {
	ix, err := OpenIndex(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	h, err := search.NewHybrid(ix, d, cfg)
	if err != nil {
		ix.Close()
		return nil, nil, err
	}
	return h, ix, nil
}
