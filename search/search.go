// Package search defines the Retriever seam that every retrieval backend
// (the embedded BM25 index, dense vectors, web search providers, remote
// Search-R1 servers) sits behind, and the Hit values they return.
package search

import (
	"context"

	"github.com/sleuth-research/sleuth/corpus"
)

// Hit is one ranked result. Rank is zero-based within its query's list.
type Hit struct {
	Passage corpus.Passage `json:"passage"`
	Score   float64        `json:"score"`
	Rank    int            `json:"rank"`
}

// Retriever answers many queries at once: RL rollouts issue hundreds of
// queries per step, so the batch is the unit of work.
//
// Search returns one ranked list per query, in query order, each holding at
// most k hits in descending score order. It is safe for concurrent use.
type Retriever interface {
	Search(ctx context.Context, queries []string, k int) ([][]Hit, error)
}
