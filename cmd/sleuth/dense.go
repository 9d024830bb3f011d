package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/backend"
	"github.com/sleuth-research/sleuth/search/dense"
	"github.com/sleuth-research/sleuth/server/retrieve"
)

// denseFlags choose dense and hybrid retrieval for ask, eval and serve.
type denseFlags struct {
	retriever                   backend.Kind
	denseIndex                  string
	embed, embedModel, embedKey string
	queryPrefix, fusion         string
	weightBM25, weightDense     float64
	rescore, probe              int
	exact                       bool
}

func (f *denseFlags) register(fl *pflag.FlagSet) {
	fl.StringVar((*string)(&f.retriever), "retriever", string(backend.BM25), "bm25 (--index), dense (--dense-index, --embed) or hybrid (all three)")
	fl.StringVar(&f.denseIndex, "dense-index", "", "dense vector index directory (sleuth dense index / sleuth dense import)")
	f.registerEmbed(fl)
	fl.StringVar(&f.queryPrefix, "query-prefix", "query: ", "text put before every query before embedding (e5: \"query: \"; bge: its instruction; empty for none)")
	fl.StringVar(&f.fusion, "fusion", "rrf", "how hybrid fuses BM25 and dense: rrf (reciprocal rank) or weighted (min-max scaled scores)")
	fl.Float64Var(&f.weightBM25, "weight-bm25", 0.5, "BM25's weight in weighted fusion")
	fl.Float64Var(&f.weightDense, "weight-dense", 0.5, "the dense retriever's weight in weighted fusion")
	fl.IntVar(&f.rescore, "dense-rescore", 0, "candidates rescored with float32 vectors (0: the index's default)")
	fl.IntVar(&f.probe, "dense-probe", 0, "inverted lists scanned per query (0: the index's default)")
	fl.BoolVar(&f.exact, "dense-exact", false, "exact dense search over every float32 vector (slow; for checking)")
}

func (f *denseFlags) registerEmbed(fl *pflag.FlagSet) {
	fl.StringVar(&f.embed, "embed", "", "OpenAI-compatible embeddings API base URL (vLLM, TEI, Ollama, llama.cpp), e.g. http://127.0.0.1:8080/v1, or local:DIR for a BERT-family model (config.json, model.safetensors, vocab.txt; mean pooling, unit vectors, as e5) run in process")
	fl.StringVar(&f.embedModel, "embed-model", "", "model name sent to the embeddings API")
	fl.StringVar(&f.embedKey, "embed-key-env", "", "environment variable holding the embeddings API key, if it needs one")
}

func (f *denseFlags) embedder() (dense.Embedder, error) {
	if f.embed == "" {
		return nil, errors.New("dense retrieval needs --embed URL (an OpenAI-compatible /v1/embeddings server) or --embed local:DIR (a BERT-family model run in process)")
	}
	cfg := backend.EmbedConfig{Spec: f.embed, Model: f.embedModel}
	if f.embedKey != "" {
		cfg.APIKey = os.Getenv(f.embedKey)
	}
	return backend.OpenEmbedder(cfg)
}

// denseRetriever opens the dense index behind the flags.
func (f *denseFlags) denseRetriever() (*dense.Retriever, func(), error) {
	if f.denseIndex == "" {
		return nil, nil, fmt.Errorf("--retriever %s needs --dense-index DIR", f.retriever)
	}
	emb, err := f.embedder()
	if err != nil {
		return nil, nil, err
	}
	return backend.OpenDense(backend.DenseConfig{Dir: f.denseIndex, Embedder: emb, QueryPrefix: f.queryPrefix,
		Options: dense.SearchOptions{Exact: f.exact, Rescore: f.rescore, Probe: f.probe}})
}

// hybridConfig is the fusion the flags name.
func (f *denseFlags) hybridConfig() (search.HybridConfig, error) {
	fu, err := search.ParseFusion(f.fusion)
	if err != nil {
		return search.HybridConfig{}, err
	}
	return search.HybridConfig{Fusion: fu, WeightA: f.weightBM25, WeightB: f.weightDense}, nil
}

// open returns the retriever --retriever names: dense alone, or BM25 (the
// index at bm25Dir) fused with dense. bm25 itself is the caller's.
func (f *denseFlags) open(bm25Dir string) (search.Retriever, func(), error) {
	switch f.retriever {
	case backend.Dense:
		return f.denseRetriever()
	case backend.Hybrid:
		if bm25Dir == "" {
			return nil, nil, errors.New("--retriever hybrid needs --index (BM25) as well as --dense-index")
		}
		cfg, err := f.hybridConfig()
		if err != nil {
			return nil, nil, err
		}
		d, closeDense, err := f.denseRetriever()
		if err != nil {
			return nil, nil, err
		}
		h, ix, err := backend.OpenHybrid(context.Background(), bm25Dir, d, cfg)
		if err != nil {
			closeDense()
			return nil, nil, err
		}
		return h, func() { ix.Close(); closeDense() }, nil
	}
	return nil, nil, fmt.Errorf("--retriever %q: want bm25, dense or hybrid", f.retriever)
}

func newDenseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dense",
		Short: "Build dense vector indexes: embed a corpus through an embeddings API, or import FAISS flat files",
	}
	cmd.AddCommand(newDenseIndexCmd(), newDenseImportCmd())
	return cmd
}

type denseSummary struct {
	Out      string  `json:"out"`
	Vectors  int     `json:"vectors"`
	Dim      int     `json:"dim"`
	Lists    int     `json:"lists"`
	Bytes    int64   `json:"bytes"`
	RAMBytes int64   `json:"ram_bytes"`
	Seconds  float64 `json:"seconds"`
}

func printDense(cmd *cobra.Command, st dense.Stats, out string, asJSON bool) error {
	sum := denseSummary{Out: out, Vectors: st.Count, Dim: st.Dim, Lists: st.Lists, Bytes: st.Bytes, RAMBytes: st.RAMBytes, Seconds: st.Elapsed.Seconds()}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), sum)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "indexed %d vectors of %d dimensions in %d lists: %.1f MB on disk, %.1f MB in RAM, %.1f s -> %s\n",
		sum.Vectors, sum.Dim, sum.Lists, float64(sum.Bytes)/1e6, float64(sum.RAMBytes)/1e6, sum.Seconds, out)
	return nil
}

func newDenseIndexCmd() *cobra.Command {
	var (
		f                 denseFlags
		files             []string
		out, format       string
		prefix            string
		normalize, asJSON bool
		batch             int
	)
	cmd := &cobra.Command{
		Use:   "index --corpus FILE... --embed URL --out DIR",
		Short: "Embed a corpus with an OpenAI-compatible embeddings server and build a dense index",
		Long: "Embed every passage (\"passage: \" + contents by default, as e5 expects) through an\n" +
			"OpenAI-compatible /v1/embeddings server and build a dense index, published atomically.",
		Example: `  sleuth dense index --corpus wiki.jsonl --embed http://127.0.0.1:8080/v1 --embed-model intfloat/e5-base-v2 --out /tmp/dense`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 || out == "" {
				return errors.New("dense index: --corpus and --out are required")
			}
			cf, err := corpus.ParseFormat(format)
			if err != nil {
				return err
			}
			emb, err := f.embedder()
			if err != nil {
				return err
			}
			skipped := 0
			prog := progress.New(stderr(cmd), "embedding", "passages", 0)
			st, err := dense.BuildEmbedded(cmd.Context(), out, emb, corpus.ReadFiles(files, corpus.Options{Format: cf}, false, &skipped), prefix, batch,
				dense.BuildOptions{Normalize: normalize, Progress: func(n int) { prog.Set(int64(n)) }})
			prog.Finish()
			if err != nil {
				return err
			}
			return printDense(cmd, st, out, asJSON)
		},
	}
	fl := cmd.Flags()
	f.registerEmbed(fl)
	fl.StringSliceVar(&files, "corpus", nil, "corpus file(s) to embed")
	fl.StringVar(&format, "format", "auto", "corpus format (as sleuth index)")
	fl.StringVar(&out, "out", "", "dense index directory")
	fl.StringVar(&prefix, "passage-prefix", "passage: ", "text put before every passage (e5: \"passage: \"; empty for none)")
	fl.BoolVar(&normalize, "normalize", true, "store unit vectors (cosine similarity)")
	fl.IntVar(&batch, "batch", 1024, "passages per embedding round (the client splits it into requests of 64, 4 at once)")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func newDenseImportCmd() *cobra.Command {
	var (
		faiss, out, format string
		files              []string
		normalize, asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "import --faiss FILE --corpus FILE... --out DIR",
		Short: "Import a FAISS flat index (Search-R1's e5_Flat.index) with its corpus, in row order",
		Example: `  sleuth dense import --faiss e5_Flat.index --corpus wiki-18.jsonl --out /tmp/dense
  sleuth dense import --faiss ../shared/data/corpus/wiki18_sample_1000.e5.faissflat --corpus ../shared/data/corpus/wiki18_sample_1000.jsonl --out /tmp/dense`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if faiss == "" || len(files) == 0 || out == "" {
				return errors.New("dense import: --faiss, --corpus and --out are required")
			}
			cf, err := corpus.ParseFormat(format)
			if err != nil {
				return err
			}
			start := time.Now()
			skipped := 0
			st, err := dense.Import(cmd.Context(), out, faiss, corpus.ReadFiles(files, corpus.Options{Format: cf}, false, &skipped), dense.BuildOptions{Normalize: normalize})
			if err != nil {
				return err
			}
			st.Elapsed = time.Since(start)
			return printDense(cmd, st, out, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&faiss, "faiss", "", "FAISS IndexFlatIP (or, with --normalize, IndexFlatL2) file")
	fl.StringSliceVar(&files, "corpus", nil, "the corpus the vectors were built from, in the same order")
	fl.StringVar(&format, "format", "auto", "corpus format (as sleuth index)")
	fl.StringVar(&out, "out", "", "dense index directory")
	fl.BoolVar(&normalize, "normalize", false, "scale vectors to unit length (cosine); Search-R1's e5 vectors already are")
	fl.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

// serveRetrievers builds /retrieve over a dense index, and over BM25 and
// hybrid too when --index is given: the --retriever kind answers requests
// that name none, and a request may name any of them.
func serveRetrievers(f serveFlags) (http.Handler, func(), error) {
	d, closeDense, err := f.dense.denseRetriever()
	if err != nil {
		return nil, nil, err
	}
	named := map[string]search.Retriever{string(backend.Dense): d}
	closeFn := closeDense
	info := retrieve.IndexInfo{Backend: "dense", Path: f.dense.denseIndex, Documents: int64(d.Index.Len())}
	if f.index != "" {
		ix, err := backend.OpenIndex(context.Background(), f.index)
		if err != nil {
			closeDense()
			return nil, nil, err
		}
		closeFn = func() { ix.Close(); closeDense() }
		cfg, err := f.dense.hybridConfig()
		if err == nil {
			named[string(backend.Hybrid)], err = search.NewHybrid(ix, d, cfg)
		}
		if err != nil {
			closeFn()
			return nil, nil, err
		}
		named[string(backend.BM25)] = ix
	}
	kind := f.dense.retriever
	if kind == backend.BM25 && f.index == "" {
		kind = backend.Dense // only a dense index to serve
	}
	def, ok := named[string(kind)]
	if !ok {
		closeFn()
		return nil, nil, fmt.Errorf("--retriever %s: this server has no such index (give --index for bm25 and hybrid)", f.dense.retriever)
	}
	info.Backend = string(kind)
	return retrieve.New(def, retrieve.Config{DefaultTopK: f.topk, MaxTopK: f.maxTopK, MaxQueries: f.maxQueries, Logger: slog.Default(),
		Index: info, Retrievers: named}), closeFn, nil
}
