package bm25

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/testchild"
)

// crashBuildEnv makes the test binary act as a child that builds an index
// into the named directory (see TestKilledBuildKeepsPreviousIndex).
const crashBuildEnv = "SLEUTH_BM25_CRASH_BUILD_DIR"

func TestMain(m *testing.M) {
	testchild.Main(m, crashBuildEnv, func(dir string) error {
		_, err := Build(context.Background(), dir, seqOf(zipfPassages(30000)), BuildOptions{})
		return err
	})
}

// TestKilledBuildKeepsPreviousIndex kills builds at random points; the
// directory must always open on a complete index with its results.
func TestKilledBuildKeepsPreviousIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns builds")
	}
	dir := t.TempDir()
	ps := zipfPassages(200)
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	query := ps[3].Text
	old := func() []Scored {
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ix.Close()
		return ix.TopK(query, 5)
	}()
	r := rand.New(rand.NewPCG(7, 7))
	completed := 0
	for i := range 6 {
		cmd := testchild.Command(crashBuildEnv, dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.IntN(1500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if err == nil {
			completed++
		}
		ix, err := Open(dir)
		if err != nil {
			t.Fatalf("kill %d: Open after a killed build: %v", i, err)
		}
		got := ix.TopK(query, 5)
		n := ix.Len()
		ix.Close()
		switch n {
		case 200: // the previous index
			if diff := cmp.Diff(old, got); diff != "" {
				t.Fatalf("kill %d: previous index answers differently:\n%s", i, diff)
			}
		case 30000: // a build that published before the kill
		default:
			t.Fatalf("kill %d: index has %d passages", i, n)
		}
		if n == 30000 { // start again from the small index
			if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The next build cleans up every stray generation.
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Errorf("after a clean build the directory holds %v, want CURRENT and one generation", names)
	}
	t.Logf("%d of 6 child builds finished before the kill", completed)
}

func TestBuildErrorPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	ps := zipfPassages(100)
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := func(yield func(p corpus.Passage, err error) bool) {
		for i, p := range ps {
			if i == 50 {
				yield(p, errors.New("line 51: malformed"))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
	if _, err := Build(context.Background(), dir, bad, BuildOptions{}); err == nil || !strings.Contains(err.Error(), "line 51") {
		t.Fatalf("Build with a bad record: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, dir, seqOf(zipfPassages(5000)), BuildOptions{}); err == nil {
		t.Fatal("Build with a cancelled context succeeded")
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Len() != 100 {
		t.Errorf("index has %d passages, want the previous 100", ix.Len())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("failed builds left %d entries", len(ents))
	}
}

// TestCorruptIndex damages the file in many ways; Open must fail with an
// error naming the file, never panic, and never succeed on a bad checksum.
func TestCorruptIndex(t *testing.T) {
	dir := t.TempDir()
	if _, err := Build(context.Background(), dir, seqOf(zipfPassages(300)), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	gdir, _ := current(dir)
	path := filepath.Join(gdir, indexFile)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name string
		mut  func([]byte) []byte
	}{
		{"empty", func(b []byte) []byte { return nil }},
		{"truncated header", func(b []byte) []byte { return b[:40] }},
		{"truncated body", func(b []byte) []byte { return b[:len(b)/2] }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"flipped byte in dictionary", func(b []byte) []byte { b[len(b)-10] ^= 0x40; return b }},
	}
	for i := range 20 {
		cases = append(cases, struct {
			name string
			mut  func([]byte) []byte
		}{"random flip " + string(rune('a'+i)), func(b []byte) []byte {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
			return b
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.mut(append([]byte(nil), orig...))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			ix, err := Open(dir)
			if err == nil {
				// Only flips inside the store can pass the checksums; the
				// store's zstd frames catch those when read.
				defer ix.Close()
				for d := range ix.Len() {
					if _, err := ix.Passage(uint32(d)); err != nil {
						if !strings.Contains(err.Error(), path) {
							t.Errorf("store error does not name the file: %v", err)
						}
						return
					}
				}
				t.Fatalf("Open succeeded on a damaged file and every passage read back")
			}
			if !strings.Contains(err.Error(), path) || !errors.Is(err, errCorrupt) && len(data) >= int(headerLen()) {
				t.Errorf("error %q should name %s and wrap errCorrupt", err, path)
			}
		})
	}
	os.WriteFile(path, orig, 0o644)
	if ix, err := Open(dir); err != nil {
		t.Fatalf("restored file: %v", err)
	} else {
		ix.Close()
	}
}

// FuzzOpenIndex feeds arbitrary bytes to the on-disk readers with the
// checksums off, so the structural checks and the postings decoder see
// every kind of damage; then it runs queries over every term.
func FuzzOpenIndex(f *testing.F) {
	dir := f.TempDir()
	ps := zipfPassages(40)
	if _, err := Build(context.Background(), dir, seqOf(ps), BuildOptions{}); err != nil {
		f.Fatal(err)
	}
	gdir, _ := current(dir)
	seed, err := os.ReadFile(filepath.Join(gdir, indexFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/3])
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := openBytes(data, false)
		if err != nil {
			return
		}
		defer ix.Close()
		var qs []string
		for i := 0; i < ix.NumTerms() && i < 200; i++ {
			qs = append(qs, string(ix.termBlob[ix.termOff[i]:ix.termOff[i+1]]))
		}
		for i, q := range qs {
			ix.TopK(q, 5)
			ix.TopKExhaustive(q, 5)
			if i+1 < len(qs) {
				ix.TopK(q+" "+qs[i+1], 3)
			}
		}
		for d := 0; d < ix.Len() && d < 50; d++ {
			ix.Passage(uint32(d))
			ix.Explain(strings.Join(qs[:min(3, len(qs))], " "), uint32(d))
		}
	})
}
