package bm25

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/search"
)

// A sharded index is one generation holding a manifest (shards.json) and
// one index file per shard (shard-000.bin, …), each a complete index of
// consecutive passages in the format above. Every shard is encoded with
// the whole corpus's statistics: its idfs come from the corpus's N and
// df, its length norms from the corpus's avgdl, so a passage's per-term
// weights, and their float32 sum in query term order, are bit for bit
// those of an unsharded index, and so are the pruning bounds' meaning.
// Shards hold consecutive passages, so a shard's passage d is the corpus's
// Base+d and ties break by corpus position as in one index.
const (
	manifestFile = "shards.json"
	storeTmpFile = "store.tmp"
)

// manifest is shards.json.
type manifest struct {
	Version  int             `json:"version"`
	Passages int             `json:"passages"`
	Tokens   int64           `json:"tokens"`
	Shards   []manifestShard `json:"shards"`
}

type manifestShard struct {
	File     string `json:"file"`
	Base     int    `json:"base"`
	Passages int    `json:"passages"`
}

func shardFile(i int) string { return fmt.Sprintf("shard-%03d.bin", i) }

// writeShards splits the build into up to want shards on whole store
// frames, copies each one's part of the store from the temporary store
// file st, writes their postings and tables, and the manifest. It returns
// the bytes written and the number of shards.
func (b *builder) writeShards(ctx context.Context, st *os.File, want int) (int64, int, error) {
	if err := b.fw.flush(); err != nil {
		return 0, 0, fmt.Errorf("write store: %w", err)
	}
	n, frames := len(b.docLen), len(b.storeOff)-1
	count := max(1, min(want, frames))
	storeAt := b.fw.secs[secStoreBlob].off
	man := manifest{Version: 1, Passages: n, Tokens: b.tokens}
	outs := make([]*shardOut, count)
	files := make([]*os.File, count)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := range count {
		fLo, fHi := i*frames/count, (i+1)*frames/count
		lo, hi := min(n, fLo*storeBlock), min(n, fHi*storeBlock)
		path := filepath.Join(b.dir, shardFile(i))
		f, err := os.Create(path)
		if err != nil {
			return 0, 0, err
		}
		files[i] = f
		fw := newFileWriter(f)
		if err := fw.start(secStoreBlob); err != nil {
			return 0, 0, err
		}
		src := io.NewSectionReader(st, storeAt+int64(b.storeOff[fLo]), int64(b.storeOff[fHi]-b.storeOff[fLo]))
		buf := make([]byte, 1<<20)
		for {
			k, err := src.Read(buf)
			if k > 0 {
				if werr := fw.write(secStoreBlob, buf[:k]); werr != nil {
					return 0, 0, fmt.Errorf("write %s: %w", path, werr)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, 0, fmt.Errorf("copy store to %s: %w", path, err)
			}
		}
		outs[i] = &shardOut{fw: fw, lo: lo, hi: hi,
			shard: &shardMeta{Index: i, Shards: count, Base: lo, Passages: n, Tokens: b.tokens}}
		man.Shards = append(man.Shards, manifestShard{File: shardFile(i), Base: lo, Passages: hi - lo})
	}
	if err := b.write(ctx, outs); err != nil {
		return 0, 0, err
	}
	var bytes int64
	for i, f := range files {
		if err := syncClose(f); err != nil {
			return 0, 0, err
		}
		files[i] = nil
		bytes += outs[i].fw.off
	}
	st.Close()
	if err := os.Remove(filepath.Join(b.dir, storeTmpFile)); err != nil {
		return 0, 0, fmt.Errorf("remove store copy: %w", err)
	}
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return 0, 0, err
	}
	if err := atomicfile.Write(filepath.Join(b.dir, manifestFile), append(mj, '\n')); err != nil {
		return 0, 0, err
	}
	return bytes, count, nil
}

// Sharded is one logical index over the shards of a sharded build (or
// over one plain index): it searches every shard, in parallel, and merges
// their top k. Its results, passage numbers (corpus positions) and scores
// are those an unsharded build of the same passages gives. It is safe for
// concurrent use; Close must not race with searches.
type Sharded struct {
	dir   string
	parts []*Index
	base  []uint32 // corpus position of each part's first passage
	n     int
}

// OpenSharded opens the index in dir, sharded or not (a plain index is
// one shard).
func OpenSharded(dir string) (*Sharded, error) {
	gdir, err := current(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(gdir, manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		ix, err := openFile(filepath.Join(gdir, indexFile))
		if err != nil {
			return nil, err
		}
		return &Sharded{dir: dir, parts: []*Index{ix}, base: []uint32{0}, n: ix.Len()}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	var man manifest
	if err := json.Unmarshal(raw, &man); err != nil {
		return nil, fmt.Errorf("open index %s: %w: %s: %v", dir, errCorrupt, manifestFile, err)
	}
	s := &Sharded{dir: dir, n: man.Passages}
	for i, ms := range man.Shards {
		if filepath.Base(ms.File) != ms.File || ms.File != shardFile(i) {
			s.Close()
			return nil, fmt.Errorf("open index %s: %w: %s names shard file %q", dir, errCorrupt, manifestFile, ms.File)
		}
		ix, err := openFile(filepath.Join(gdir, ms.File))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.parts = append(s.parts, ix)
		if err := s.checkShard(i, ms, &man); err != nil {
			s.Close()
			return nil, fmt.Errorf("open index %s: %w", dir, err)
		}
		s.base = append(s.base, uint32(ms.Base))
	}
	if len(s.parts) == 0 {
		return nil, fmt.Errorf("open index %s: %w: %s lists no shards", dir, errCorrupt, manifestFile)
	}
	return s, nil
}

// checkShard checks that shard i continues the corpus where shard i-1
// ended and was built with the same settings and corpus statistics.
func (s *Sharded) checkShard(i int, ms manifestShard, man *manifest) error {
	ix := s.parts[i]
	m := ix.meta.Shard
	end := man.Passages
	if i+1 < len(man.Shards) {
		end = man.Shards[i+1].Base
	}
	prev := 0
	if i > 0 {
		prev = man.Shards[i-1].Base + man.Shards[i-1].Passages
	}
	switch {
	case m == nil || m.Index != i || m.Shards != len(man.Shards) || m.Base != ms.Base || m.Passages != man.Passages || m.Tokens != man.Tokens:
		return fmt.Errorf("%w: %s does not belong to this index (its meta disagrees with %s)", errCorrupt, ms.File, manifestFile)
	case ms.Base != prev || ix.Len() != ms.Passages || ms.Base+ms.Passages != end:
		return fmt.Errorf("%w: %s holds passages [%d, %d), the manifest expects them to follow on from %d", errCorrupt, ms.File, ms.Base, ms.Base+ix.Len(), prev)
	case ix.meta.Analyzer != s.parts[0].meta.Analyzer || ix.meta.BM25 != s.parts[0].meta.BM25 || ix.meta.AvgDL != s.parts[0].meta.AvgDL:
		return fmt.Errorf("%w: %s was built with other settings than shard 0", errCorrupt, ms.File)
	}
	return nil
}

// Close releases every shard.
func (s *Sharded) Close() error {
	var errs []error
	for _, ix := range s.parts {
		errs = append(errs, ix.Close())
	}
	return errors.Join(errs...)
}

// Len returns the number of passages in all shards.
func (s *Sharded) Len() int { return s.n }

// Shards returns the number of shards (1 for a plain index).
func (s *Sharded) Shards() int { return len(s.parts) }

// Size returns the index files' size in bytes.
func (s *Sharded) Size() int64 {
	var n int64
	for _, ix := range s.parts {
		n += ix.Size()
	}
	return n
}

// part returns the shard holding passage doc and doc's number in it.
func (s *Sharded) part(doc uint32) (*Index, uint32, error) {
	if int(doc) >= s.n {
		return nil, 0, fmt.Errorf("passage %d: out of range (index has %d)", doc, s.n)
	}
	i := sort.Search(len(s.base), func(i int) bool { return s.base[i] > doc }) - 1
	return s.parts[i], doc - s.base[i], nil
}

// Passage returns stored passage doc (its corpus position).
func (s *Sharded) Passage(doc uint32) (corpus.Passage, error) {
	ix, d, err := s.part(doc)
	if err != nil {
		return corpus.Passage{}, err
	}
	return ix.Passage(d)
}

// keep returns the terms an unsharded index would keep of query when it
// could hold more than MaxQueryTerms distinct terms (the first
// MaxQueryTerms found in any shard), else nil: each shard alone would keep
// those it has of other terms.
func (s *Sharded) keep(query string) map[string]struct{} {
	// Terms are runs of letters and digits between other characters, so a
	// query of 2*MaxQueryTerms bytes has at most MaxQueryTerms of them.
	if len(s.parts) == 1 || len(query) <= 2*MaxQueryTerms {
		return nil
	}
	ix0 := s.parts[0]
	sr := ix0.getSearcher()
	defer ix0.searcher.Put(sr)
	keep := map[string]struct{}{}
	sr.an.each(query, func(t []byte) {
		if len(keep) == MaxQueryTerms {
			return
		}
		if _, ok := keep[string(t)]; ok {
			return
		}
		for _, ix := range s.parts {
			if ix.lookup(t) >= 0 {
				keep[string(t)] = struct{}{}
				return
			}
		}
	})
	return keep
}

// TopK returns the k best passages for query, best first (ties by lower
// corpus position), as corpus positions and scores: the same as an
// unsharded index's TopK. The shards are searched in parallel.
func (s *Sharded) TopK(query string, k int) []Scored {
	rs, _ := s.searchOne(context.Background(), query, k)
	return rs
}

// TopKExhaustive is TopK scoring every posting in every shard.
func (s *Sharded) TopKExhaustive(query string, k int) []Scored {
	if k <= 0 {
		return nil
	}
	keep := s.keep(query)
	per := make([][]Scored, len(s.parts))
	for i, ix := range s.parts {
		per[i] = ix.topKExhaustive(query, k, keep)
	}
	return s.merge(per, k)
}

func (s *Sharded) searchOne(ctx context.Context, query string, k int) ([]Scored, error) {
	if k <= 0 {
		return nil, nil
	}
	keep := s.keep(query)
	per := make([][]Scored, len(s.parts))
	err := parallel(ctx, len(s.parts), func(i int) error {
		var err error
		per[i], err = s.parts[i].topK(ctx, query, k, keep)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.merge(per, k), nil
}

// merge maps each shard's results to corpus positions and keeps the k
// best, in TopK's order. per[i] is modified.
func (s *Sharded) merge(per [][]Scored, k int) []Scored {
	var all []Scored
	for i, rs := range per {
		for _, r := range rs {
			all = append(all, Scored{Doc: r.Doc + s.base[i], Score: r.Score})
		}
	}
	slices.SortFunc(all, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Doc, b.Doc)
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}

// SearchBatch runs TopK for every query, every shard of every query on a
// bounded pool of GOMAXPROCS goroutines, and returns the results in query
// order.
func (s *Sharded) SearchBatch(ctx context.Context, queries []string, k int) ([][]Scored, error) {
	out := make([][]Scored, len(queries))
	if k <= 0 {
		return out, ctx.Err()
	}
	np := len(s.parts)
	keeps := make([]map[string]struct{}, len(queries))
	for i, q := range queries {
		keeps[i] = s.keep(q)
	}
	per := make([][]Scored, len(queries)*np)
	err := parallel(ctx, len(per), func(j int) error {
		var err error
		per[j], err = s.parts[j%np].topK(ctx, queries[j/np], k, keeps[j/np])
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range queries {
		out[i] = s.merge(per[i*np:(i+1)*np], k)
	}
	return out, nil
}

// Search implements search.Retriever: SearchBatch, then the stored
// passages of the hits.
func (s *Sharded) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	res, err := s.SearchBatch(ctx, queries, k)
	if err != nil {
		return nil, err
	}
	out := make([][]search.Hit, len(queries))
	err = parallel(ctx, len(queries), func(i int) error {
		var err error
		out[i], err = hitsOf(res[i], s.Passage)
		return err
	})
	return out, err
}

var _ search.Retriever = (*Sharded)(nil)
