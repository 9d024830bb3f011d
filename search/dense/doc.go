// Package dense is sleuth's vector retrieval: the Embedder seam, a client
// for OpenAI-compatible /v1/embeddings servers, and an on-disk vector index
// whose searchable part fits in RAM.
//
// The index groups vectors into about √n inverted lists by k-means and
// keeps in memory, per vector, one bit per dimension (the sign of the
// vector minus its list's centroid: 96 bytes for a 768-dimensional e5
// vector), a scale and its row: 104 bytes, 1/30 of float32. The float32
// vectors stay in a file it memory-maps. A query scores the centroids,
// picks the best Probe lists, and scores their codes with AND and popcount
// against a few-bit quantisation of itself (see ivf.go); the best Rescore
// candidates are then scored exactly from the mapped vectors. Exact search
// (every float32 vector) is an option, for checking. Indexes are published
// atomically as generations (internal/generation), so a killed build
// leaves the previous index.
//
// Files of a generation (all little-endian; a slot is a vector's place in
// list order):
//
//	meta.json      dimension, count, lists, whether vectors were normalised
//	vectors.f32    count × dim float32, row i is passage i
//	centroids.f32  lists × dim float32
//	lists.off      lists+1 uint64: list l holds slots [off[l], off[l+1])
//	rows.u32       count uint32: the row of each slot
//	scales.f32     count float32: ‖r‖/(f·√dim) of each slot's residual r
//	codes.bin      count × ⌈dim/64⌉ uint64 sign bits of each slot's residual
//	               (bit j of word w is dimension 64w+j)
//	docs.bin       passages as JSON, one after another
//	docs.off       count+1 uint64 byte offsets into docs.bin
//
// FAISS IndexFlatIP/IndexFlatL2 files (Search-R1's e5_Flat.index) are read
// by ReadFAISSFlat and imported with Import.
package dense
