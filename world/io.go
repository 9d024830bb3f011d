package world

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
)

// Files of a written world, relative to its directory.
const (
	CorpusFile    = "corpus.jsonl"
	KBFile        = "kb.jsonl"
	MetaFile      = "world.json"
	QuestionsDir  = "questions"
	maxLineLength = 16 << 20
)

// Summary is what world.json holds and `sleuth world` prints.
type Summary struct {
	Seed        int64        `json:"seed"`
	Version     int          `json:"version"`
	Entities    int          `json:"entities"`
	Distractors int          `json:"distractors"`
	Facts       int          `json:"facts"`
	Passages    int          `json:"passages"`
	Questions   int          `json:"questions"`
	Splits      []SplitCount `json:"splits"`
	ByHops      []HopCount   `json:"by_hops"`
}

// SplitCount counts one split's questions.
type SplitCount struct {
	Split     string `json:"split"`
	Questions int    `json:"questions"`
}

// HopCount counts the questions of one hop count, by type.
type HopCount struct {
	Hops       int `json:"hops"`
	Chain      int `json:"chain"`
	Comparison int `json:"comparison"`
}

// WriteText prints the summary as `sleuth world` shows it, for the world
// written to dir.
func (s Summary) WriteText(w io.Writer, dir string) error {
	_, err := fmt.Fprintf(w, "world seed %d (format v%d) written to %s\n  %d entities (%d distractors), %d facts, %d passages\n  %d questions:",
		s.Seed, s.Version, dir, s.Entities, s.Distractors, s.Facts, s.Passages, s.Questions)
	for _, sp := range s.Splits {
		fmt.Fprintf(w, " %s %d", sp.Split, sp.Questions)
	}
	fmt.Fprintln(w)
	for _, h := range s.ByHops {
		fmt.Fprintf(w, "  %d-hop: %d chain, %d comparison\n", h.Hops, h.Chain, h.Comparison)
	}
	return err
}

// Summary counts the world's contents.
func (w *World) Summary() Summary {
	s := Summary{Seed: w.Seed, Version: w.Version, Entities: len(w.Entities), Facts: len(w.Facts),
		Passages: len(w.Passages), Questions: len(w.Questions)}
	for _, e := range w.Entities {
		if e.Distractor {
			s.Distractors++
		}
	}
	for _, sp := range splitNames {
		s.Splits = append(s.Splits, SplitCount{Split: sp, Questions: len(w.Split(sp))})
	}
	for _, q := range w.Questions {
		for len(s.ByHops) < q.Hops {
			s.ByHops = append(s.ByHops, HopCount{Hops: len(s.ByHops) + 1})
		}
		if q.Hops < 1 {
			continue
		}
		if q.Type == Comparison {
			s.ByHops[q.Hops-1].Comparison++
		} else {
			s.ByHops[q.Hops-1].Chain++
		}
	}
	return s
}

// kbLine is one line of kb.jsonl: exactly one of its fields is set.
type kbLine struct {
	Entity *Entity `json:"entity,omitempty"`
	Fact   *Fact   `json:"fact,omitempty"`
}

// Write writes the world under dir (created if needed): corpus.jsonl,
// kb.jsonl, questions/{train,dev,test}.jsonl and world.json. Each file is
// written to a temporary file and renamed into place, so readers never see
// a half-written file.
func (w *World) Write(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, QuestionsDir), 0o755); err != nil {
		return fmt.Errorf("world: write %s: %w", dir, err)
	}
	err := writeJSONL(filepath.Join(dir, CorpusFile), w.Passages)
	if err == nil {
		lines := make([]kbLine, 0, len(w.Entities)+len(w.Facts))
		for i := range w.Entities {
			lines = append(lines, kbLine{Entity: &w.Entities[i]})
		}
		for i := range w.Facts {
			lines = append(lines, kbLine{Fact: &w.Facts[i]})
		}
		err = writeJSONL(filepath.Join(dir, KBFile), lines)
	}
	for _, sp := range splitNames {
		if err == nil {
			err = writeJSONL(filepath.Join(dir, QuestionsDir, sp+".jsonl"), w.Split(sp))
		}
	}
	if err == nil {
		err = writeAtomic(filepath.Join(dir, MetaFile), func(bw *bufio.Writer) error {
			b, err := json.MarshalIndent(w.Summary(), "", "  ")
			if err != nil {
				return err
			}
			_, err = bw.Write(append(b, '\n'))
			return err
		})
	}
	return err
}

func writeJSONL[T any](path string, items []T) error {
	return writeAtomic(path, func(bw *bufio.Writer) error {
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for i := range items {
			if err := enc.Encode(&items[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeAtomic writes path through the project's one atomic writer.
func writeAtomic(path string, fill func(*bufio.Writer) error) error {
	if err := atomicfile.WriteFunc(path, fill); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	return nil
}

// Load reads a world written by Write. kb.jsonl is optional (a world
// without it has no Entities or Facts); the other files are required.
func Load(dir string) (*World, error) {
	var meta Summary
	mp := filepath.Join(dir, MetaFile)
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, fmt.Errorf("world: load %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("world: %s: %w", mp, err)
	}
	if meta.Version < 1 || meta.Version > Version {
		return nil, fmt.Errorf("world: %s: version %d, this sleuth reads versions 1 to %d", mp, meta.Version, Version)
	}
	w := &World{Seed: meta.Seed, Version: meta.Version}
	if w.Passages, err = readFile(filepath.Join(dir, CorpusFile), ParsePassages); err != nil {
		return nil, err
	}
	inCorpus := make(map[string]bool, len(w.Passages))
	for _, p := range w.Passages {
		inCorpus[p.ID] = true
	}
	for _, sp := range splitNames {
		qp := filepath.Join(dir, QuestionsDir, sp+".jsonl")
		qs, err := readFile(qp, func(r io.Reader, name string) ([]Question, error) {
			return ParseQuestions(r, name, sp)
		})
		if err != nil {
			return nil, err
		}
		// A question citing a passage the corpus lacks means the files come
		// from different worlds; better to say so now than to score zero.
		for _, q := range qs {
			for _, id := range q.Supporting {
				if !inCorpus[id] {
					return nil, fmt.Errorf("world: %s: question %s cites passage %s, which %s lacks", qp, q.ID, id, CorpusFile)
				}
			}
		}
		w.Questions = append(w.Questions, qs...)
	}
	sortQuestions(w.Questions)
	kbPath := filepath.Join(dir, KBFile)
	f, err := os.Open(kbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("world: load %s: %w", kbPath, err)
	}
	defer f.Close()
	w.Entities, w.Facts, err = ParseKB(f, kbPath)
	return w, err
}

func readFile[T any](path string, parse func(io.Reader, string) ([]T, error)) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("world: load %s: %w", path, err)
	}
	defer f.Close()
	return parse(f, path)
}

// eachLine calls fn with every non-blank line of r and its 1-based number,
// wrapping fn's error with name and line. Lines longer than maxLineLength are
// an error, so a corrupt file cannot exhaust memory.
func eachLine(r io.Reader, name string, fn func(line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLineLength)
	n := 0
	for sc.Scan() {
		n++
		if t := bytes.TrimSpace(sc.Bytes()); len(t) > 0 {
			if err := fn(t); err != nil {
				return fmt.Errorf("world: %s:%d: %w", name, n, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("world: read %s:%d: %w", name, n+1, err)
	}
	return nil
}

// ParsePassages reads a JSONL corpus of {"id","title","text"} objects,
// rejecting missing or repeated ids. name labels errors.
func ParsePassages(r io.Reader, name string) ([]corpus.Passage, error) {
	var out []corpus.Passage
	seen := map[string]bool{}
	err := eachLine(r, name, func(line []byte) error {
		var p corpus.Passage
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		if p.ID == "" {
			return errors.New("passage without an id")
		}
		if seen[p.ID] {
			return fmt.Errorf("passage id %q repeated", p.ID)
		}
		seen[p.ID] = true
		out = append(out, p)
		return nil
	})
	return out, err
}

// ParseQuestions reads a JSONL question file of split (a question naming
// another split is an error; one naming none is given split). name labels
// errors.
func ParseQuestions(r io.Reader, name, split string) ([]Question, error) {
	var out []Question
	seen := map[string]bool{}
	err := eachLine(r, name, func(line []byte) error {
		var q Question
		if err := json.Unmarshal(line, &q); err != nil {
			return err
		}
		switch {
		case q.ID == "":
			return errors.New("question without an id")
		case seen[q.ID]:
			return fmt.Errorf("question id %q repeated", q.ID)
		case q.Question == "":
			return fmt.Errorf("question %s: empty question text", q.ID)
		case len(q.Answers) == 0:
			return fmt.Errorf("question %s: no answers", q.ID)
		case q.Split != "" && q.Split != split:
			return fmt.Errorf("question %s: split %q in the %s file", q.ID, q.Split, split)
		}
		seen[q.ID] = true
		q.Split = split
		out = append(out, q)
		return nil
	})
	return out, err
}

// ParseKB reads kb.jsonl: lines of {"entity":{...}} or {"fact":{...}}.
func ParseKB(r io.Reader, name string) ([]Entity, []Fact, error) {
	var ents []Entity
	var facts []Fact
	err := eachLine(r, name, func(line []byte) error {
		var l kbLine
		if err := json.Unmarshal(line, &l); err != nil {
			return err
		}
		switch {
		case l.Entity != nil && l.Fact == nil:
			if l.Entity.ID == "" || l.Entity.Name == "" {
				return errors.New("entity without an id or name")
			}
			ents = append(ents, *l.Entity)
		case l.Fact != nil && l.Entity == nil:
			if l.Fact.Subject == "" || l.Fact.Relation == "" {
				return errors.New("fact without a subject or relation")
			}
			facts = append(facts, *l.Fact)
		default:
			return errors.New(`want exactly one of "entity" and "fact"`)
		}
		return nil
	})
	return ents, facts, err
}

// sortQuestions restores id order after reading the splits one by one.
func sortQuestions(qs []Question) {
	slices.SortStableFunc(qs, func(a, b Question) int { return strings.Compare(a.ID, b.ID) })
}
