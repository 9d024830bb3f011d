package corpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Format names a corpus file layout. The container (JSON lines or one JSON
// array) of a JSON file is always sniffed from its first byte; the format
// picks how each record becomes passages.
type Format string

// The supported formats. FormatAuto detects the format from the file
// extension and the first record.
const (
	FormatAuto             Format = "auto"
	FormatSearchR1         Format = "searchr1"          // JSONL {"id","contents"}, contents = "\"Title\"\nText"
	FormatJSONL            Format = "jsonl"             // JSONL {"id","title","text"}
	FormatJSONArray        Format = "json-array"        // [{"id"?,"title","text"}, ...]
	FormatParquet          Format = "parquet"           // columns id/title/text or id/contents
	FormatHotpotQA         Format = "hotpotqa"          // IRCoT JSONL (HotpotQA, 2Wiki, MuSiQue): contexts[].{title,paragraph_text}
	FormatHotpotQAOriginal Format = "hotpotqa-original" // HotpotQA JSON array: context [[title,[sentences]]]
)

var allFormats = []Format{FormatAuto, FormatSearchR1, FormatJSONL, FormatJSONArray,
	FormatParquet, FormatHotpotQA, FormatHotpotQAOriginal}

// ParseFormat validates a format name, for example from a command-line flag.
// The empty string means FormatAuto.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return FormatAuto, nil
	}
	for _, f := range allFormats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(allFormats))
	for i, f := range allFormats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown corpus format %q (want one of %s)", s, strings.Join(names, ", "))
}

// ErrQuestionFile is wrapped by the error Open returns for a question file
// that carries no passages (Search-R1 or FlashRAG question sets).
var ErrQuestionFile = errors.New("question file without passages")

// ErrUnknownFormat is wrapped by the error Open returns when auto-detection
// does not recognise the first record.
var ErrUnknownFormat = errors.New("unknown corpus format")

// DefaultMaxRecordBytes bounds one record (a JSONL line or an array
// element) when Options.MaxRecordBytes is 0.
const DefaultMaxRecordBytes = 128 << 20

// Options configure a Reader. The zero value auto-detects the format and
// stops at the first bad record.
type Options struct {
	// Format forces a format; "" or FormatAuto detects it.
	Format Format
	// SkipBad counts, logs (a few times) and skips malformed records instead
	// of returning them as errors. Errors that leave the rest of the file
	// unreadable (I/O errors, broken gzip, a missing ',' between array
	// elements, a file ending inside an array) still stop it.
	SkipBad bool
	// MaxRecordBytes bounds one record (a JSONL line or an array element);
	// longer ones are bad records. 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// Logger receives skipped-record warnings; nil means slog.Default().
	Logger *slog.Logger
}

// maxLoggedSkips bounds the per-file warnings about skipped records; a
// summary with the total follows at the end of the file.
const maxLoggedSkips = 3

// RecordError is a malformed record: which file, which line (1-based, 0 when
// unknown) and which record index (0-based row of a Parquet file or element
// of a JSON array, -1 when not applicable).
type RecordError struct {
	Path string
	Line int
	Row  int
	Err  error

	fatal bool // the rest of the file cannot be read
}

func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Row >= 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RecordError) Unwrap() error { return e.Err }

// loc is where a record starts.
type loc struct{ line, row int }

// fatalError marks a source error after which the file cannot be read on.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// source yields the passages of one record at a time. A plain error is a
// bad record (skippable); a fatalError ends the file; io.EOF is the end.
type source interface {
	next() ([]Passage, loc, error)
}

// Reader streams the passages of one corpus file. It is not safe for
// concurrent use.
type Reader struct {
	path    string
	format  Format
	opt     Options
	log     *slog.Logger
	src     source
	closers []io.Closer

	dedupe  bool // content-addressed ids: drop repeats silently
	ids     *idSet
	pending []Passage
	skipped int
	err     error // sticky: io.EOF or a fatal error
}

// Open opens a corpus file and detects its format (from the extension, the
// Parquet or gzip magic bytes, and the first record) unless opt.Format
// names one. Gzip-compressed JSON files are read transparently. Open fails
// with an error wrapping ErrQuestionFile for question sets without passages.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open corpus: %w", err)
	}
	r, err := open(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func open(f *os.File, path string, opt Options) (*Reader, error) {
	if _, err := ParseFormat(string(opt.Format)); err != nil {
		return nil, fmt.Errorf("open corpus %s: %w", path, err)
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	isParquet := n == 4 && string(magic[:]) == "PAR1"
	if opt.Format == FormatParquet || (isParquet && (opt.Format == "" || opt.Format == FormatAuto)) ||
		(n < 4 && strings.EqualFold(filepath.Ext(path), ".parquet")) {
		r := newReader(path, opt)
		src, err := openParquet(f, path)
		if err != nil {
			return nil, err
		}
		r.src, r.format = src, FormatParquet
		r.closers = append(r.closers, f, src)
		return r, nil
	}
	if isParquet {
		return nil, fmt.Errorf("open corpus %s: a Parquet file cannot be read as format %q", path, opt.Format)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("open corpus %s: %w", path, err)
	}
	r, err := NewReader(f, path, opt)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

func newReader(path string, opt Options) *Reader {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = DefaultMaxRecordBytes
	}
	return &Reader{path: path, opt: opt, log: log, ids: newIDSet()}
}

// idSet remembers the ids read so far by their 64-bit hashes, which keeps
// it at about 20 bytes an id; the odds of a false duplicate are about 1e-5
// for 21M ids.
type idSet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newIDSet() *idSet { return &idSet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

func (s *idSet) hash(id string) uint64 { return maphash.String(s.seed, id) }

func (s *idSet) has(h uint64) bool { _, ok := s.m[h]; return ok }

func (s *idSet) add(h uint64) { s.m[h] = struct{}{} }

// NewReader reads a JSON or JSONL corpus (optionally gzip-compressed) from
// in, naming it name in errors. Parquet needs random access: use Open. The
// caller keeps ownership of in; Close does not close it.
func NewReader(in io.Reader, name string, opt Options) (*Reader, error) {
	if _, err := ParseFormat(string(opt.Format)); err != nil {
		return nil, fmt.Errorf("open corpus %s: %w", name, err)
	}
	if opt.Format == FormatParquet {
		return nil, fmt.Errorf("open corpus %s: Parquet needs a seekable file (use Open)", name)
	}
	r := newReader(name, opt)
	br := bufio.NewReaderSize(in, 1<<20)
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open corpus %s: gzip: %w", name, err)
		}
		r.closers = append(r.closers, zr)
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	if b, _ := br.Peek(4); string(b) == "PAR1" {
		return nil, fmt.Errorf("open corpus %s: Parquet needs a seekable, uncompressed file", name)
	}
	if err := r.detect(br); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// detect sniffs the container, then the record schema unless forced.
func (r *Reader) detect(br *bufio.Reader) error {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	first, newlines, err := skipSpace(br)
	if err == io.EOF {
		r.src, r.format = emptySource{}, r.opt.Format
		if r.format == "" {
			r.format = FormatAuto
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("open corpus %s: %w", r.path, err)
	}
	var c container
	if first == '[' {
		c = newArrayContainer(br, 1+newlines, r.opt.MaxRecordBytes)
	} else {
		c = newLineContainer(br, 1+newlines, r.opt.MaxRecordBytes)
	}
	_, isArray := c.(*arrayContainer)
	format := r.opt.Format
	var pushback *rawRecord
	if format == "" || format == FormatAuto {
		rec, f, err := r.detectRecord(c, isArray)
		if err != nil {
			return err
		}
		format, pushback = f, rec
	}
	r.format = format
	r.dedupe = format == FormatHotpotQA || format == FormatHotpotQAOriginal
	r.src = &jsonSource{c: c, dec: decoderFor(format, isArray), pushback: pushback}
	return nil
}

// detectRecord reads records until one is a JSON object and names its
// format. With SkipBad, unparsable records before it are skipped.
func (r *Reader) detectRecord(c container, isArray bool) (*rawRecord, Format, error) {
	for {
		rec, err := c.next()
		if err == io.EOF {
			return nil, FormatAuto, nil
		}
		if err == nil {
			var f Format
			if f, err = detectFormat(rec.data, isArray); err == nil {
				return &rec, f, nil
			}
		}
		if errors.Is(err, ErrQuestionFile) {
			return nil, "", fmt.Errorf("open corpus: %s is a %w", r.path, err)
		}
		if errors.Is(err, ErrUnknownFormat) {
			return nil, "", fmt.Errorf("open corpus %s: %w", r.path, err)
		}
		re := r.recordError(rec.at, err)
		if re.fatal || !r.opt.SkipBad {
			if !isArray && !re.fatal {
				re.Err = fmt.Errorf("%w (want one JSON record per line, or a top-level JSON array)", re.Err)
			}
			return nil, "", re
		}
		r.skip(re)
	}
}

func (r *Reader) recordError(at loc, err error) *RecordError {
	var fe fatalError
	fatal := errors.As(err, &fe)
	if fatal {
		err = fe.error
	}
	return &RecordError{Path: r.path, Line: at.line, Row: at.row, Err: err, fatal: fatal}
}

func (r *Reader) skip(re *RecordError) {
	r.skipped++
	if r.skipped <= maxLoggedSkips {
		r.log.Warn("corpus: skipping bad record", "err", re.Error())
	}
}

// Next returns the next passage, or io.EOF at the end of the file. A bad
// record is returned as a *RecordError (unless Options.SkipBad); calling
// Next again continues after it, except after errors that end the file.
func (r *Reader) Next() (Passage, error) {
	for {
		if len(r.pending) > 0 {
			p := r.pending[0]
			r.pending = r.pending[1:]
			return p, nil
		}
		if r.err != nil {
			return Passage{}, r.err
		}
		ps, at, err := r.src.next()
		if err == nil {
			ps, err = r.checkIDs(ps)
		}
		switch {
		case err == nil:
			r.pending = ps
		case err == io.EOF:
			r.err = io.EOF
			if r.skipped > maxLoggedSkips {
				r.log.Warn("corpus: skipped bad records", "path", r.path, "skipped", r.skipped)
			}
		default:
			re := r.recordError(at, err)
			if re.fatal {
				r.err = re
				return Passage{}, re
			}
			if !r.opt.SkipBad {
				return Passage{}, re
			}
			r.skip(re)
		}
	}
}

// checkIDs rejects a record whose id was seen before, or for
// content-addressed formats drops passages already read.
func (r *Reader) checkIDs(ps []Passage) ([]Passage, error) {
	if r.dedupe {
		out := ps[:0]
		for _, p := range ps {
			if h := r.ids.hash(p.ID); !r.ids.has(h) {
				r.ids.add(h)
				out = append(out, p)
			}
		}
		return out, nil
	}
	hs := make([]uint64, len(ps))
	for i, p := range ps {
		hs[i] = r.ids.hash(p.ID)
		if r.ids.has(hs[i]) {
			return nil, fmt.Errorf("duplicate id %q", p.ID)
		}
	}
	for _, h := range hs {
		r.ids.add(h)
	}
	return ps, nil
}

// Skipped reports how many bad records were skipped so far (SkipBad).
func (r *Reader) Skipped() int { return r.skipped }

// Format reports the format read: the detected one for FormatAuto (still
// FormatAuto for an empty file).
func (r *Reader) Format() Format { return r.format }

// Path is the name given to Open or NewReader.
func (r *Reader) Path() string { return r.path }

// Close releases the file. It is safe to call more than once.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	r.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close corpus %s: %w", r.path, err)
	}
	return nil
}

// ReadAll streams every passage of every file in paths to fn, in order. It
// stops at the first error: a bad record (without SkipBad), a cancelled
// ctx, or an error from fn (returned as is). It returns the passages
// delivered and the records skipped. Ids must be unique across all the
// files, and HotpotQA paragraphs are deduplicated across them.
func ReadAll(ctx context.Context, paths []string, opt Options, fn func(Passage) error) (n, skipped int, err error) {
	ids := newIDSet() // shared: ids are unique, and HotpotQA paragraphs deduplicated, across files
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return n, skipped, err
		}
		r, err := Open(path, opt)
		if err != nil {
			return n, skipped, err
		}
		r.ids = ids
		k, err := readEach(ctx, r, fn)
		n += k
		skipped += r.Skipped()
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, skipped, err
		}
	}
	return n, skipped, nil
}

// readEach passes the passages of r to fn, checking ctx now and then.
func readEach(ctx context.Context, r *Reader, fn func(Passage) error) (n int, err error) {
	for ; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		p, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := fn(p); err != nil {
			return n, err
		}
	}
}

type emptySource struct{}

func (emptySource) next() ([]Passage, loc, error) { return nil, loc{row: -1}, io.EOF }

// skipSpace consumes JSON whitespace and returns the first other byte
// (left unread) and how many newlines it passed.
func skipSpace(br *bufio.Reader) (byte, int, error) {
	newlines := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, newlines, err
		}
		switch c {
		case '\n':
			newlines++
		case ' ', '\t', '\r':
		default:
			br.UnreadByte()
			return c, newlines, nil
		}
	}
}
