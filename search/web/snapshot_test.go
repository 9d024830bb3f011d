package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/search"
)

func TestRecordThenReplayWithServerStopped(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "snap")
	queries := []string{"marie curie nobel prize", "pierre curie", "marie curie nobel prize"}
	ctx := context.Background()

	srv := newReplayServer(t, "tavily.json")
	live, err := New(Tavily, Config{BaseURL: srv.URL, APIKey: "k", QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := CreateSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(live.Name(), live, snap)
	recorded, recCost, err := SearchWithCost(ctx, rec, queries, 5)
	if err != nil {
		t.Fatal(err)
	}
	if recCost.Requests != 2 || recCost.Queries != 2 {
		t.Errorf("recording cost %+v, want 2 requests for 2 distinct queries", recCost)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	sent := len(srv.requests())
	srv.Close() // from here on, nothing answers on the network

	replaySnap, err := OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := NewReplayer(Tavily, replaySnap)
	replayed, repCost, err := SearchWithCost(ctx, rep, queries, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recorded, replayed); diff != "" {
		t.Errorf("replay differs from the recording (-recorded +replayed):\n%s", diff)
	}
	recJSON, _ := json.Marshal(recorded)
	repJSON, _ := json.Marshal(replayed)
	if !bytes.Equal(recJSON, repJSON) {
		t.Errorf("replay is not byte-identical:\n%s\n%s", recJSON, repJSON)
	}
	if sent != 2 {
		t.Errorf("recording sent %d requests, want 2", sent)
	}
	if c := repCost; c != (Cost{}) {
		t.Errorf("replay cost %+v, want nothing", c)
	}

	_, err = rep.Search(ctx, []string{"pierre curie", "radium"}, 5)
	if !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), `query "radium"`) {
		t.Errorf("unrecorded query: error %v, want ErrNotRecorded naming \"radium\"", err)
	}
	if _, err := rep.Search(ctx, []string{"pierre curie"}, 10); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("recorded query with another k: error %v, want ErrNotRecorded", err)
	}
	if _, err := NewReplayer(Brave, replaySnap).Search(ctx, queries[:1], 5); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("another provider's name: error %v, want ErrNotRecorded", err)
	}
}

func TestSnapshotPutGet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := CreateSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	page := []byte("<html><body>Radium</body></html>")
	h1, err := s.Put("page", "https://a.example/", page)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := s.Put("page", "https://b.example/", page) // same body: one object
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(page); h1 != hex.EncodeToString(sum[:]) || h2 != h1 {
		t.Errorf("hashes %s, %s; want both the body's SHA-256", h1, h2)
	}
	if _, err := s.Put("page", "https://a.example/", []byte("v2")); err != nil { // last Put wins
		t.Fatal(err)
	}
	if _, err := s.Put("", "k", nil); err == nil {
		t.Error("empty kind accepted")
	}
	s.Close()

	objs, _ := os.ReadDir(filepath.Join(dir, "objects"))
	if len(objs) != 2 {
		t.Errorf("%d objects, want 2 (one per distinct body)", len(objs))
	}
	r, err := OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"https://a.example/": "v2", "https://b.example/": string(page)} {
		got, err := r.Get("page", key)
		if err != nil || string(got) != want {
			t.Errorf("Get(page, %s) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := r.Get("search", "https://a.example/"); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("other kind: %v, want ErrNotRecorded", err)
	}
	if _, err := r.Put("page", "x", nil); err == nil || !strings.Contains(err.Error(), "opened for replay") {
		t.Errorf("Put on a replay snapshot: %v", err)
	}
	if r.Len() != 2 {
		t.Errorf("Len = %d, want 2", r.Len())
	}

	// A damaged object must fail loudly, not replay other bytes.
	if err := os.WriteFile(filepath.Join(dir, "objects", h1), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("page", "https://b.example/"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged object: %v, want a damage error", err)
	}
}

func TestSnapshotBadIndex(t *testing.T) {
	t.Parallel()
	good := "{\"kind\":\"page\",\"key\":\"a\",\"hash\":\"" + strings.Repeat("a", 64) + "\"}\n"
	// A bad line with a good one after it is damage, not a torn append.
	tests := []struct{ name, index, want string }{
		{"bad json", good + "{oops\n" + good, "index.jsonl:2: invalid character"},
		{"bad hash", `{"kind":"page","key":"a","hash":"../../etc/passwd"}` + "\n" + good, "index.jsonl:1: hash"},
		{"no kind", `{"key":"a","hash":"` + strings.Repeat("0", 64) + `"}` + "\n\n" + good, "index.jsonl:1: missing kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "index.jsonl"), []byte(tt.index), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenSnapshot(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := OpenSnapshot(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("opening a missing snapshot for replay succeeded")
	}
}

// TestSnapshotTornLastLine: a crash in the middle of an index append
// leaves a torn last line; the snapshot still replays what came before,
// and recording cuts the torn line and goes on.
func TestSnapshotTornLastLine(t *testing.T) {
	t.Parallel()
	for _, torn := range []string{`{"kind":"page","key":"c","ha`, "{\"kind\":\"page\"}\n", "{oops"} {
		dir := t.TempDir()
		s, err := CreateSnapshot(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b"} {
			if _, err := s.Put("page", k, []byte("body "+k)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		idx := filepath.Join(dir, "index.jsonl")
		f, err := os.OpenFile(idx, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(torn)
		f.Close()

		r, err := OpenSnapshot(dir)
		if err != nil {
			t.Fatalf("torn %q: replay refused: %v", torn, err)
		}
		if b, err := r.Get("page", "b"); err != nil || string(b) != "body b" || r.Len() != 2 {
			t.Errorf("torn %q: replayed %q, %v (%d entries)", torn, b, err, r.Len())
		}
		w, err := CreateSnapshot(dir)
		if err != nil {
			t.Fatalf("torn %q: recording refused: %v", torn, err)
		}
		if _, err := w.Put("page", "c", []byte("body c")); err != nil {
			t.Fatal(err)
		}
		w.Close()
		r, err = OpenSnapshot(dir)
		if err != nil {
			t.Fatalf("torn %q: after recording: %v", torn, err)
		}
		for _, k := range []string{"a", "b", "c"} {
			if b, err := r.Get("page", k); err != nil || string(b) != "body "+k {
				t.Errorf("torn %q: %s = %q, %v", torn, k, b, err)
			}
		}
		if b, _ := os.ReadFile(idx); strings.Count(string(b), "\n") != 3 || !strings.HasSuffix(string(b), "\n") {
			t.Errorf("torn %q: index after recording:\n%s", torn, b)
		}
	}
}

func TestRecorderPropagatesErrors(t *testing.T) {
	t.Parallel()
	snap, err := CreateSnapshot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	boom := errors.New("boom")
	rec := NewRecorder("x", failing{boom}, snap)
	if _, err := rec.Search(context.Background(), []string{"q"}, 3); !errors.Is(err, boom) {
		t.Errorf("error %v, want the wrapped retriever's", err)
	}
	if snap.Len() != 0 {
		t.Error("a failed search was recorded")
	}
}

type failing struct{ err error }

func (f failing) Search(context.Context, []string, int) ([][]search.Hit, error) { return nil, f.err }

func TestSnapshotConcurrentPut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := CreateSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				// Half the bodies are shared between goroutines: same object, racing writers.
				body := fmt.Appendf(nil, "body %d", i%10)
				if _, err := s.Put("page", fmt.Sprintf("g%d/%d", g, i), body); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 160 {
		t.Errorf("Len = %d, want 160", r.Len())
	}
	for g := range 8 {
		for i := range 20 {
			got, err := r.Get("page", fmt.Sprintf("g%d/%d", g, i))
			if want := fmt.Sprintf("body %d", i%10); err != nil || string(got) != want {
				t.Fatalf("g%d/%d = %q, %v; want %q", g, i, got, err, want)
			}
		}
	}
	objs, _ := os.ReadDir(filepath.Join(dir, "objects"))
	if len(objs) != 10 {
		t.Errorf("%d files in objects/, want 10 (no temporary files left)", len(objs))
	}
}
