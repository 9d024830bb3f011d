// Package bm25 is sleuth's embedded full-text index: an analyzer, a
// parallel builder, an immutable memory-mapped on-disk format that also
// stores the passages, and exact top-k BM25 search with dynamic pruning.
// It is the retriever RL rollouts hammer with hundreds of queries at once.
//
// # Analysis
//
// Terms are maximal runs of Unicode letters and digits (combining marks
// continue a word), lowercased and accent-folded (NFD, nonspacing marks
// dropped; ASCII takes a fast path that never normalises). Optional, off by
// default: the Snowball English (Porter2) stemmer from
// github.com/kljensen/snowball, and Lucene's 33 English stopwords. The
// defaults match the calibration of the shared HotpotQA set (lowercase
// alphanumeric tokens, no stemming). The settings are recorded in the
// index and always used for its queries.
//
// # Scoring
//
// A passage's field is its title and text together: dl counts the terms of
// both and avgdl is their mean over the index, so a title match counts like
// a text match. The score is the sum over the distinct query terms of
//
//	qtf * idf * tf*(k1+1) / (tf + k1*(1 - b + b*dl/avgdl)),  idf = ln(1 + (N - df + 0.5)/(df + 0.5))
//
// (Lucene's idf, always positive), with k1 0.9 and b 0.4 by default; qtf
// counts a term repeated in the query. Scores are float32, summed in query
// term order; Explain shows the formula with its numbers.
//
// # Search
//
// TopK is exact: it returns the same ids, scores and order (ties broken by
// the lower passage number) as TopKExhaustive, which scores every posting.
// Two phases get there without walking long posting lists:
//
//  1. Champion lists. Each term with more than 2*champSize postings keeps
//     its champSize highest-weight postings and the largest weight among
//     the rest (its tail). Candidates from the short lists, then from the
//     champion lists, are scored exactly in order of their upper bounds;
//     once the k-th best beats the bound on every doc not read, the answer
//     is final. Terms in at least 1/16 of the passages also keep a dense
//     tf array, so probing them for one doc is one load.
//  2. Otherwise block-max MaxScore over blocks of 128 bit-packed postings,
//     each with its largest weight, starting from the k-th score phase 1
//     found: terms whose bounds together cannot beat it are only probed,
//     and windows whose block bounds cannot beat it are skipped unread.
//
// Bounds are summed in a different order from scores, so a bound prunes
// only when it is below the threshold by a relative 1e-5.
//
// # On disk
//
// An index directory holds generations (gen-000001, …) and CURRENT, which
// names the published one. Build writes a new generation, fsyncs it and
// renames a new CURRENT into place, then deletes the other generations; a
// killed build leaves the previous index readable. Each generation is one
// file, index.bin: a checksummed header, then sections (meta JSON with the
// format version and the analyzer and BM25 settings, the sorted term
// dictionary, postings, passage lengths and ids, and the passages in zstd
// frames of 32). Open maps it (reads it where mmap is unavailable),
// verifies the CRC-32C of every section but the passage store, whose zstd
// frames carry their own checksums, and checks every offset, so a damaged
// file gives an error naming it rather than a panic.
//
// An *Index is safe for concurrent use. Only one Build may run on a
// directory at a time.
package bm25
