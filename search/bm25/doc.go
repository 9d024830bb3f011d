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
// Two steps get there without walking most of the long posting lists:
//
//  1. Seed. The k heaviest postings of each term (from its champion list,
//     the 128 highest-weight postings, heaviest first, kept for each term
//     with more than 256, or from the whole list when short) are scored
//     with the terms a lookup costs one load for (those with a dense tf
//     array; the others count 0, so every score is a lower bound), skipping
//     docs whose bound cannot beat the k-th so far; the k-th best is a
//     floor for the answer.
//  2. Layered block-max MaxScore over windows. Each term with at least
//     4,096 postings also keeps a high layer: its postings weighing more
//     than a cut (about the heaviest 1/8 of them), bit-packed like the
//     full list. Each term is walked in full, or only its high layer is
//     walked and the rest probed (a passage missing from the layer gets at
//     most the cut), or it is only probed. As the k-th score rises, terms
//     move greedily (postings saved per unit of bound) to cheaper modes
//     while the bound on passages found in no walked list stays below it.
//     The search runs over windows of 4,096 passages, term at a time:
//     each walked list adds its postings in the window to per-passage
//     arrays (weight, bound, a bit) in one loop, skipping windows, blocks
//     and postings that cannot beat the threshold even with every other
//     walked list at its window maximum; the passages found are then
//     probed one term at a time, largest bound first, and kept in place,
//     without branches, while they still can. Terms in at least 1/32 of
//     the passages keep a dense tf array (4 bits a passage, or 8 where
//     more than 1/64 of their tfs exceed 14), so probing them is one load.
//     Where the passages have at most 256 distinct lengths, their length
//     norms are one-byte codes into a table of them.
//
// A query whose lists hold at most N/16 postings in all (typical of the
// content words of real questions) skips both steps: its postings are
// added term at a time, in query order, to a per-passage accumulator
// (kept by the searcher and left zero between queries), which gives
// exhaustive scoring's own sums for a fraction of pruning's fixed costs.
//
// Zipf queries made only of very common words are the hard case: their
// weights saturate (the layer cut is ~3/4 of the term maximum), so
// thousands of near-tied passages must still be scored exactly.
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
// # Building in bounded memory
//
// Build reads the passages once, as a stream. Workers analyse and compress
// batches in parallel; the store's frames go straight to the file. The
// postings of consecutive passages collect in an in-memory segment until
// its estimated size passes a third of BuildOptions.MemBudget; the segment
// is then written, its terms in byte order, as a run file inside the new
// generation, and a new segment starts (the workers' own term maps start
// over too once they hold enough terms). At the end the runs and the last
// segment are merged term by term, each term encoded on all cores and
// streamed into the postings section, and the dictionary and doc tables
// follow it. The file is byte for byte the same whatever the budget; what
// stays in memory is about 20 bytes and the id a passage, the dictionary,
// and the largest term's postings. Runs are deleted once merged; a killed
// build leaves them in its unpublished generation, which the next build
// removes with it.
//
// # Shards
//
// With BuildOptions.Shards the same inversion is written as one index
// file per shard of consecutive passages (cut on store frames), with a
// manifest, in one generation. Each shard's idfs are computed from the
// whole corpus's N and df and its length norms from the whole corpus's
// avgdl, so every posting weight, and each passage's float32 sum in query
// term order, is the unsharded index's bit for bit; the searches of the
// shards are then merged by score and corpus position. OpenSharded opens
// either layout; Open refuses a sharded one.
//
// An *Index is safe for concurrent use. Only one Build may run on a
// directory at a time.
package bm25
