// Package dense is sleuth's vector retrieval: the Embedder seam, a client
// for OpenAI-compatible /v1/embeddings servers, and an on-disk vector index
// whose searchable part fits in RAM.
//
// The index keeps one bit per dimension per vector in memory (the sign of
// the vector minus the corpus mean: 96 bytes for a 768-dimensional e5
// vector, 1/32 of float32) and the float32 vectors in a file it memory-maps.
// A query is quantised to a few bits per dimension and scored against every
// code with AND and popcount; the best Rescore candidates are then scored
// exactly from the mapped vectors. Exact search (every float32 vector) is
// an option, for checking. Indexes are published atomically as generations
// (internal/generation), so a killed build leaves the previous index.
//
// Files of a generation (all little-endian):
//
//	meta.json    dimension, count, whether vectors were normalised
//	vectors.f32  count × dim float32, row i is passage i
//	mean.f32     dim float32, the mean the codes are centred on
//	codes.bin    count × ⌈dim/64⌉ uint64 sign bits (bit j of word w is dimension 64w+j)
//	docs.bin     passages as JSON, one after another
//	docs.off     count+1 uint64 byte offsets into docs.bin
//
// FAISS IndexFlatIP/IndexFlatL2 files (Search-R1's e5_Flat.index) are read
// by ReadFAISSFlat and imported with Import.
package dense
