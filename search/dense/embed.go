package dense

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/sleuth-research/sleuth/corpus"
)

// Embedder turns texts into vectors: one vector per text, in text order,
// all of the same dimension. It is safe for concurrent use. Prefixes a model
// expects ("query: ", "passage: " for e5) are the caller's to add.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Item is one passage with its vector, the unit Build consumes.
type Item struct {
	Passage corpus.Passage
	Vector  []float32
}

// EmbedPassages embeds passages batch by batch (batch texts per Embed call;
// the client splits and parallelises further) with prefix before each
// passage's contents, and yields them with their vectors in order.
func EmbedPassages(ctx context.Context, e Embedder, passages iter.Seq2[corpus.Passage, error], prefix string, batch int) iter.Seq2[Item, error] {
	if batch <= 0 {
		batch = 256
	}
	return func(yield func(Item, error) bool) {
		var buf []corpus.Passage
		flush := func() bool {
			if len(buf) == 0 {
				return true
			}
			texts := make([]string, len(buf))
			for i, p := range buf {
				texts[i] = prefix + p.Contents()
			}
			vecs, err := e.Embed(ctx, texts)
			if err == nil && len(vecs) != len(texts) {
				err = fmt.Errorf("embedder returned %d vectors for %d texts", len(vecs), len(texts))
			}
			if err != nil {
				yield(Item{}, fmt.Errorf("embed passages %s…: %w", buf[0].ID, err))
				return false
			}
			for i, p := range buf {
				if !yield(Item{Passage: p, Vector: vecs[i]}, nil) {
					return false
				}
			}
			buf = buf[:0]
			return true
		}
		for p, err := range passages {
			if err != nil {
				yield(Item{}, err)
				return
			}
			buf = append(buf, p)
			if len(buf) == batch && !flush() {
				return
			}
		}
		flush()
	}
}

// Normalize scales v to unit length in place (a zero vector stays zero).
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// BuildEmbedded embeds passages with e (EmbedPassages: prefix before each
// passage's contents, batch texts per call) and builds the index in dir
// (Build). The dimension is that of e's vector for a probe text, so no
// one has to know it in advance.
func BuildEmbedded(ctx context.Context, dir string, e Embedder, passages iter.Seq2[corpus.Passage, error], prefix string, batch int, opt BuildOptions) (Stats, error) {
	probe, err := e.Embed(ctx, []string{prefix + "dimension probe"})
	if err != nil {
		return Stats{}, err
	}
	if len(probe) != 1 {
		return Stats{}, fmt.Errorf("embedder returned %d vectors for one probe text", len(probe))
	}
	return Build(ctx, dir, len(probe[0]), EmbedPassages(ctx, e, passages, prefix, batch), opt)
}
