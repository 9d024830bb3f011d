package bm25

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/sleuth-research/sleuth/corpus/zipf"
)

// TestDamagedPostingsNoPanic flips bytes of an index with high layers and
// opens it without checksums, as a file damaged past its CRCs would be:
// Open's structure checks must reject it or searches must run without
// panicking (results may be wrong, reads may not go out of bounds).
func TestDamagedPostingsNoPanic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(zipfPassages(6000)), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	gdir, err := current(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(gdir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := openBytes(append([]byte(nil), orig...), false)
	if err != nil {
		t.Fatal(err)
	}
	layered := false
	for id := range ix.NumTerms() {
		if p, _ := ix.termPostings(id, false); p.hi.df > 0 {
			layered = true
		}
	}
	if !layered {
		t.Fatal("no term has a high layer: grow the corpus")
	}
	secs, err := parseSections(orig, false)
	if err != nil {
		t.Fatal(err)
	}
	post := secs[secPostings]
	base := int(uintptr(unsafe.Pointer(&post[0])) - uintptr(unsafe.Pointer(&orig[0]))) // sections are views of orig
	if base < 0 || base+len(post) > len(orig) {
		t.Fatalf("postings section at %d+%d outside the %d-byte file", base, len(post), len(orig))
	}
	qs := zipf.Queries(zipf.Config{Vocab: 5000}, 30)
	r := rand.New(rand.NewPCG(9, 10))
	for trial := range 300 {
		data := append([]byte(nil), orig...)
		for range 1 + r.IntN(4) {
			data[base+r.IntN(len(post))] ^= byte(1 + r.IntN(255))
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("trial %d: panic on a damaged index: %v", trial, p)
				}
			}()
			ix, err := openBytes(data, false)
			if err != nil {
				return
			}
			for _, q := range qs {
				ix.TopK(q, 10)
				ix.TopKExhaustive(q, 10)
			}
		}()
	}
}
