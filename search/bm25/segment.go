package bm25

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A build inverts passages into a segment in memory until its estimated
// size passes the budget's share, then spills it to disk as a run: its
// terms in byte order, each with its postings. Segments hold consecutive
// passages, so a term's postings from the runs in order are in doc order,
// and merging the runs by term gives every term's whole list, which is
// encoded exactly as a single in-memory segment's would be.
//
// A run is a sequence of terms, each
//
//	uvarint len(term), term bytes, uvarint df,
//	df x (uvarint doc delta, uvarint tf)
//
// where the first delta is the doc itself and each next one is doc - previous doc.

// Estimated memory of a segment: a posting is a doc and a tf in slices
// that grow by doubling (8 bytes, ~12 with the slack); a term is its
// bytes plus its map entry and three slice headers.
const (
	postingCost = 12
	termCost    = 128
)

// segment is the in-memory inversion of consecutive passages.
type segment struct {
	dict      map[string]uint32
	termStr   []string
	docs      [][]uint32 // per segment term id
	tfs       [][]uint32
	postings  int64
	termBytes int64
}

func newSegment() *segment { return &segment{dict: map[string]uint32{}} }

// id returns t's id in the segment, adding it if new.
func (s *segment) id(t string) uint32 {
	if g, ok := s.dict[t]; ok {
		return g
	}
	g := uint32(len(s.termStr))
	s.dict[t] = g
	s.termStr = append(s.termStr, t)
	s.docs = append(s.docs, nil)
	s.tfs = append(s.tfs, nil)
	s.termBytes += int64(len(t)) + termCost
	return g
}

func (s *segment) size() int64 { return s.postings*postingCost + s.termBytes }

// sorted returns the segment's term ids in byte order of their terms.
func (s *segment) sorted() []uint32 {
	order := make([]uint32, len(s.termStr))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int { return strings.Compare(s.termStr[x], s.termStr[y]) })
	return order
}

// spill writes the current segment as a run and starts a new one.
func (b *builder) spill() error {
	path := filepath.Join(b.dir, fmt.Sprintf("run-%06d.tmp", len(b.runs)))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("spill postings: %w", err)
	}
	b.runs = append(b.runs, path) // removed with the build's other runs, even on error
	if err := writeRun(f, b.seg); err != nil {
		f.Close()
		return fmt.Errorf("spill postings to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spill postings to %s: %w", path, err)
	}
	b.seg = newSegment()
	b.spilled++
	for w := range b.l2g {
		clear(b.l2g[w])
	}
	return nil
}

func writeRun(f *os.File, s *segment) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	var tmp []byte
	for _, g := range s.sorted() {
		t, docs, tfs := s.termStr[g], s.docs[g], s.tfs[g]
		tmp = binary.AppendUvarint(tmp[:0], uint64(len(t)))
		tmp = append(tmp, t...)
		tmp = binary.AppendUvarint(tmp, uint64(len(docs)))
		prev := uint32(0)
		for i, d := range docs {
			tmp = binary.AppendUvarint(tmp, uint64(d-prev))
			tmp = binary.AppendUvarint(tmp, uint64(tfs[i]))
			prev = d
		}
		if _, err := bw.Write(tmp); err != nil {
			return err
		}
		s.docs[g], s.tfs[g] = nil, nil
	}
	return bw.Flush()
}

// removeRuns deletes the spilled runs.
func (b *builder) removeRuns() {
	for _, p := range b.runs {
		os.Remove(p)
	}
	b.runs = nil
}

// termSource yields terms in byte order with their postings in doc order.
type termSource interface {
	// next advances to the next term; ok is false at the end.
	next() (term string, ok bool, err error)
	// appendPostings appends the current term's postings.
	appendPostings(docs, tfs []uint32) ([]uint32, []uint32, error)
}

// memSource reads the segment still in memory, releasing each term's
// postings as they are taken.
type memSource struct {
	s     *segment
	order []uint32
	i     int
}

func (m *memSource) next() (string, bool, error) {
	m.i++
	if m.i >= len(m.order) {
		return "", false, nil
	}
	return m.s.termStr[m.order[m.i]], true, nil
}

func (m *memSource) appendPostings(docs, tfs []uint32) ([]uint32, []uint32, error) {
	g := m.order[m.i]
	d, t := m.s.docs[g], m.s.tfs[g]
	m.s.docs[g], m.s.tfs[g] = nil, nil
	if docs == nil { // the usual case: one source has the term; no copy
		return d, t, nil
	}
	return append(docs, d...), append(tfs, t...), nil
}

// runSource reads a spilled run.
type runSource struct {
	path string
	f    *os.File
	r    *bufio.Reader
	df   uint64
	term []byte
}

func openRun(path string) (*runSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &runSource{path: path, f: f, r: bufio.NewReaderSize(f, 256<<10)}, nil
}

func (r *runSource) corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read spilled run %s: %w", r.path, err)
}

func (r *runSource) next() (string, bool, error) {
	n, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return "", false, nil
	}
	if err != nil {
		return "", false, r.corrupt(err)
	}
	if n > 1<<20 {
		return "", false, r.corrupt(fmt.Errorf("term of %d bytes", n))
	}
	r.term = slices.Grow(r.term[:0], int(n))[:n]
	if _, err := io.ReadFull(r.r, r.term); err != nil {
		return "", false, r.corrupt(err)
	}
	if r.df, err = binary.ReadUvarint(r.r); err != nil {
		return "", false, r.corrupt(err)
	}
	return string(r.term), true, nil
}

func (r *runSource) appendPostings(docs, tfs []uint32) ([]uint32, []uint32, error) {
	docs, tfs = slices.Grow(docs, int(r.df)), slices.Grow(tfs, int(r.df))
	prev := uint64(0)
	for range r.df {
		d, err := binary.ReadUvarint(r.r)
		if err != nil {
			return nil, nil, r.corrupt(err)
		}
		tf, err := binary.ReadUvarint(r.r)
		if err != nil {
			return nil, nil, r.corrupt(err)
		}
		prev += d
		docs, tfs = append(docs, uint32(prev)), append(tfs, uint32(tf))
	}
	return docs, tfs, nil
}

// merger merges sources (in doc order: runs, then the segment in memory)
// term by term.
type merger struct {
	srcs []termSource
	cur  []string
	live []bool
}

func newMerger(srcs []termSource) (*merger, error) {
	m := &merger{srcs: srcs, cur: make([]string, len(srcs)), live: make([]bool, len(srcs))}
	for i := range srcs {
		if err := m.advance(i); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *merger) advance(i int) error {
	t, ok, err := m.srcs[i].next()
	m.cur[i], m.live[i] = t, ok
	return err
}

// next returns the smallest term left with its postings from every source
// that has it, in source order; ok is false when all are done. A linear
// scan finds it: there are few sources.
func (m *merger) next() (term string, docs, tfs []uint32, ok bool, err error) {
	first := -1
	for i, l := range m.live {
		if l && (first < 0 || m.cur[i] < m.cur[first]) {
			first = i
		}
	}
	if first < 0 {
		return "", nil, nil, false, nil
	}
	term = m.cur[first]
	for i := first; i < len(m.srcs); i++ {
		if !m.live[i] || m.cur[i] != term {
			continue
		}
		if docs, tfs, err = m.srcs[i].appendPostings(docs, tfs); err != nil {
			return "", nil, nil, false, err
		}
		if err = m.advance(i); err != nil {
			return "", nil, nil, false, err
		}
	}
	return term, docs, tfs, true, nil
}

func (m *merger) close() {
	for _, s := range m.srcs {
		if r, ok := s.(*runSource); ok {
			r.f.Close()
		}
	}
}
