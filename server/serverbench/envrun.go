package serverbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/server/retrieve"
	"github.com/sleuth-research/sleuth/world"
)

// EnvOptions say what Env measures.
type EnvOptions struct {
	// Index is the BM25 index searched; empty: a generated world's (seed
	// 3, 1,500 entities), built first in a temporary directory.
	Index string
	// Server makes the environment server over an index, serving the
	// searchr1 preset with room for Sessions sessions; the function it
	// returns closes it.
	Server func(index string) (http.Handler, func())
	// Sessions are the concurrent environment sessions, Clients the
	// concurrent /retrieve clients, Batch the largest batched search of
	// the micro-batching /retrieve; each load runs for Duration.
	Sessions, Clients, Batch int
	Duration                 time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Env is `sleuth bench env`: Search-R1 tool calls per second through the
// environment server (EnvSessions), then single-query /retrieve requests
// per second (Retrieve) to the unbatched server and to a micro-batching
// one, in turn.
func Env(ctx context.Context, o EnvOptions) ([]Load, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Index == "" {
		dir, err := os.MkdirTemp("", "sleuth-bench-env-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		w, err := world.Generate(world.Config{Seed: 3, Entities: 1500, Questions: 200})
		if err != nil {
			return nil, err
		}
		o.Index = filepath.Join(dir, "index")
		if _, err := bm25.Build(ctx, o.Index, corpus.Seq(w.Passages), bm25.BuildOptions{}); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Log, "bench env: built a %d-passage world index\n", len(w.Passages))
	}
	ix, err := bm25.Open(o.Index)
	if err != nil {
		return nil, err
	}
	defer ix.Close()
	es, closeES := o.Server(o.Index)
	defer closeES()
	loads := []Load{EnvSessions(ctx, es, o.Sessions, o.Duration)}
	for _, b := range []int{0, o.Batch} {
		cfg := retrieve.Config{}
		name := "/retrieve unbatched"
		if b > 0 {
			cfg.Batch = &search.CoalesceConfig{MaxBatch: b}
			name = fmt.Sprintf("/retrieve batched (up to %d)", b)
		}
		rs := retrieve.New(ix, cfg)
		l := Retrieve(ctx, rs, o.Clients, o.Duration)
		rs.Close()
		l.Name = name
		loads = append(loads, l)
	}
	return loads, nil
}
