package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/search"
)

// ErrNotRecorded is wrapped by every lookup of something a snapshot lacks.
var ErrNotRecorded = errors.New("not recorded in the snapshot")

// KindSearch is the snapshot kind of search results.
const KindSearch = "search"

// Snapshot is a content-addressed store of what a run saw of the web:
// DIR/objects/<sha256 hex> holds each distinct body once, and DIR/index.jsonl
// maps (kind, key) to a hash, one {"kind","key","hash"} line per Put, the
// last line for a (kind, key) winning. Kinds name what was stored ("search"
// here; the fetch package stores pages under its own kind).
//
// A Snapshot is safe for concurrent use. Share one value between everything
// that records into a directory: two Snapshots writing one directory would
// interleave index lines safely but not see each other's entries.
type Snapshot struct {
	dir      string
	readOnly bool

	mu    sync.Mutex
	index map[snapKey]string
	good  int64    // bytes of index.jsonl up to its last whole line
	log   *os.File // index.jsonl opened for append; nil when read-only
}

type snapKey struct{ kind, key string }

type indexLine struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
	Hash string `json:"hash"`
}

// CreateSnapshot opens dir for recording, creating it if needed; an existing
// snapshot there is extended.
func CreateSnapshot(dir string) (*Snapshot, error) {
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o755); err != nil {
		return nil, fmt.Errorf("create snapshot %s: %w", dir, err)
	}
	s := &Snapshot{dir: dir, index: map[snapKey]string{}}
	if err := s.load(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(s.indexPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create snapshot %s: %w", dir, err)
	}
	// Cut a torn last line (load dropped it), so the next line starts on
	// a line of its own.
	if st, err := f.Stat(); err == nil && st.Size() > s.good {
		if err := f.Truncate(s.good); err != nil {
			f.Close()
			return nil, fmt.Errorf("create snapshot %s: cut the torn index line: %w", dir, err)
		}
	}
	s.log = f
	return s, nil
}

// OpenSnapshot opens an existing snapshot for replay; Put fails on it.
func OpenSnapshot(dir string) (*Snapshot, error) {
	s := &Snapshot{dir: dir, readOnly: true, index: map[snapKey]string{}}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the snapshot's directory.
func (s *Snapshot) Dir() string { return s.dir }

func (s *Snapshot) indexPath() string { return filepath.Join(s.dir, "index.jsonl") }

func (s *Snapshot) objectPath(hash string) string { return filepath.Join(s.dir, "objects", hash) }

func (s *Snapshot) load() error {
	f, err := os.Open(s.indexPath())
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", s.dir, err)
	}
	defer f.Close()
	idx, good, err := parseIndex(f, s.indexPath())
	if err != nil {
		return err
	}
	s.index, s.good = idx, good
	return nil
}

// parseIndex reads index.jsonl lines; name is used in errors. A last line
// that does not parse is what a crash in the middle of an append leaves:
// it is dropped with a warning, and good is the length of the lines
// before it, where recording must go on. A bad line anywhere else is an
// error.
func parseIndex(r io.Reader, name string) (idx map[snapKey]string, good int64, err error) {
	idx = map[snapKey]string{}
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	var bad error
	for line := 1; ; line++ {
		raw, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			var long []byte
			long, rerr = readLongLine(br, raw, 16<<20)
			raw = long
		}
		if rerr != nil && rerr != io.EOF {
			return nil, 0, fmt.Errorf("%s:%d: %w", name, line, rerr)
		}
		if len(raw) == 0 && rerr == io.EOF {
			break
		}
		if b := bytes.TrimSpace(raw); len(b) > 0 {
			if bad != nil {
				return nil, 0, bad // a bad line with good ones after it
			}
			if e := parseIndexLine(b, idx); e != nil {
				bad = fmt.Errorf("%s:%d: %w", name, line, e)
			}
		}
		if bad == nil {
			off += int64(len(raw))
		}
		if rerr == io.EOF {
			break
		}
	}
	if bad != nil {
		slog.Warn("snapshot index: dropped a torn last line (a crash while recording)", "err", bad)
	}
	return idx, off, nil
}

// readLongLine finishes a line longer than br's buffer, up to max bytes.
func readLongLine(br *bufio.Reader, first []byte, max int) ([]byte, error) {
	out := append([]byte(nil), first...)
	for {
		more, err := br.ReadSlice('\n')
		out = append(out, more...)
		if len(out) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		if err != bufio.ErrBufferFull {
			return out, err
		}
	}
}

// parseIndexLine adds one index line to idx.
func parseIndexLine(b []byte, idx map[snapKey]string) error {
	var l indexLine
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	if l.Kind == "" {
		return errors.New("missing kind")
	}
	if !validHash(l.Hash) {
		return fmt.Errorf("hash %q is not 64 lower-case hex digits", l.Hash)
	}
	idx[snapKey{l.Kind, l.Key}] = l.Hash
	return nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range []byte(h) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Put stores body under (kind, key) and returns its SHA-256 in hex. Storing
// an identical body again writes no new object.
func (s *Snapshot) Put(kind, key string, body []byte) (string, error) {
	if s.readOnly {
		return "", fmt.Errorf("snapshot %s: opened for replay, cannot record %s %q", s.dir, kind, key)
	}
	if kind == "" {
		return "", fmt.Errorf("snapshot %s: empty kind for key %q", s.dir, key)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if err := s.writeObject(hash, body); err != nil {
		return "", err
	}
	line, err := json.Marshal(indexLine{Kind: kind, Key: key, Hash: hash})
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index[snapKey{kind, key}] == hash {
		return hash, nil
	}
	if _, err := s.log.Write(append(line, '\n')); err != nil {
		return "", fmt.Errorf("snapshot %s: append index: %w", s.dir, err)
	}
	s.index[snapKey{kind, key}] = hash
	return hash, nil
}

// writeObject writes body to objects/<hash> through a temporary file and a
// rename, so a crash never leaves a truncated object under a valid name.
func (s *Snapshot) writeObject(hash string, body []byte) error {
	p := s.objectPath(hash)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := atomicfile.Write(p, body); err != nil {
		return fmt.Errorf("snapshot %s: object %s: %w", s.dir, hash, err)
	}
	return nil
}

// Get returns the body stored under (kind, key). It fails with an error
// wrapping ErrNotRecorded when there is none, and when the object's content
// no longer matches its hash.
func (s *Snapshot) Get(kind, key string) ([]byte, error) {
	s.mu.Lock()
	hash, ok := s.index[snapKey{kind, key}]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("snapshot %s: %s %q: %w", s.dir, kind, key, ErrNotRecorded)
	}
	body, err := os.ReadFile(s.objectPath(hash))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %s %q: %w", s.dir, kind, key, err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("snapshot %s: object %s is damaged (content does not match its hash)", s.dir, hash)
	}
	return body, nil
}

// Len returns the number of (kind, key) entries.
func (s *Snapshot) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// Close flushes and closes the index.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return nil
	}
	err := s.log.Sync()
	if cerr := s.log.Close(); err == nil {
		err = cerr
	}
	s.log = nil
	if err != nil {
		return fmt.Errorf("close snapshot %s: %w", s.dir, err)
	}
	return nil
}

// searchKey is the index key of one query: the retriever's name, k and the
// exact query text, tab-separated so the index stays readable.
func searchKey(name, query string, k int) string {
	return name + "\t" + strconv.Itoa(k) + "\t" + query
}

// Recorder is a search.Retriever that passes queries to another and stores
// each query's hits in a snapshot under KindSearch.
type Recorder struct {
	name  string
	inner search.Retriever
	snap  *Snapshot
}

// NewRecorder records inner's answers into snap under name (the same name
// must be given to the Replayer, e.g. the provider's).
func NewRecorder(name string, inner search.Retriever, snap *Snapshot) *Recorder {
	return &Recorder{name: name, inner: inner, snap: snap}
}

// Search asks the wrapped retriever, records, and returns its answer unchanged.
func (r *Recorder) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out, err := r.inner.Search(ctx, queries, k)
	if err != nil {
		return nil, err
	}
	if len(out) != len(queries) {
		return nil, fmt.Errorf("record %s: retriever returned %d lists for %d queries", r.name, len(out), len(queries))
	}
	for i, q := range queries {
		hits := out[i]
		if hits == nil {
			hits = []search.Hit{}
		}
		body, err := json.Marshal(hits)
		if err != nil {
			return nil, fmt.Errorf("record %s: query %q: %w", r.name, q, err)
		}
		if _, err := r.snap.Put(KindSearch, searchKey(r.name, q, k), body); err != nil {
			return nil, fmt.Errorf("record %s: query %q: %w", r.name, q, err)
		}
	}
	return out, nil
}

// Replayer is a search.Retriever that answers from a snapshot alone, with no
// network and no cost.
type Replayer struct {
	name string
	snap *Snapshot
}

// NewReplayer serves the queries recorded in snap under name.
func NewReplayer(name string, snap *Snapshot) *Replayer {
	return &Replayer{name: name, snap: snap}
}

// Search returns the recorded hits of each query, failing with an error
// that wraps ErrNotRecorded and names the first query the snapshot lacks.
func (r *Replayer) Search(ctx context.Context, queries []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(queries))
	for i, q := range queries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, err := r.snap.Get(KindSearch, searchKey(r.name, q, k))
		if err != nil {
			return nil, fmt.Errorf("replay %s: query %q (k=%d): %w", r.name, q, k, err)
		}
		var hits []search.Hit
		if err := json.Unmarshal(body, &hits); err != nil {
			return nil, fmt.Errorf("replay %s: query %q (k=%d): recorded object: %w", r.name, q, k, err)
		}
		out[i] = hits
	}
	return out, nil
}
