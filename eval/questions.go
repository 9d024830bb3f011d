// Package eval loads benchmark questions (Search-R1/verl, FlashRAG,
// HotpotQA, 2WikiMultihopQA, MuSiQue and sleuth's synthetic world), scores
// predictions against them as the official scripts do, and aggregates
// metrics with bootstrap confidence intervals.
package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/world"
)

// Question is one benchmark question with what is known of its gold.
type Question struct {
	ID         string            `json:"id"`
	Question   string            `json:"question"`
	Answers    []string          `json:"answers"`
	Supporting []string          `json:"supporting,omitempty"` // gold passage ids, where known
	Dataset    string            `json:"dataset,omitempty"`
	Hops       int               `json:"hops,omitempty"` // 0: unknown
	Meta       map[string]string `json:"meta,omitempty"`
}

// Gold is the question's gold for rewards.
func (q Question) Gold() reward.Gold {
	return reward.Gold{Question: q.Question, Answers: q.Answers, Supporting: q.Supporting}
}

// Formats LoadQuestions recognises.
const (
	FormatSearchR1       = "searchr1"        // verl: data_source, prompt, reward_model (JSONL or Parquet)
	FormatFlashRAG       = "flashrag"        // id, question, golden_answers
	FormatHotpotIRCoT    = "hotpotqa-ircot"  // question_id, question_text, answers_objects, contexts
	FormatHotpotOriginal = "hotpotqa"        // _id, question, answer, supporting_facts, context
	Format2Wiki          = "2wikimultihopqa" // as hotpotqa, with type and evidences
	FormatMuSiQue        = "musique"         // id, question, answer, answer_aliases, paragraphs
	FormatWorld          = "world"           // sleuth world: id, question, answers, supporting, hops
)

// LoadQuestions reads a question file of any recognised format, detected
// from the file's extension (.parquet is Search-R1 Parquet) and its first
// record's fields. A malformed record is an error naming file and line.
func LoadQuestions(path string) ([]Question, error) {
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		return loadParquet(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load questions: %w", err)
	}
	return ParseQuestions(data, path)
}

// ParseQuestions parses the JSON or JSONL text of a question file; name
// labels errors.
func ParseQuestions(data []byte, name string) ([]Question, error) {
	recs, err := splitRecords(data, name)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no questions", name)
	}
	f, err := detect(recs[0].data)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, recs[0].line, err)
	}
	if f == FormatWorld {
		return parseWorld(data, recs[0].data, name)
	}
	qs := make([]Question, 0, len(recs))
	seen := make(map[string]int, len(recs))
	for i, r := range recs {
		q, err := decode(f, r.data, i)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s record: %w", name, r.line, f, err)
		}
		if err := check(&q, f); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, r.line, err)
		}
		// Ids are unique per dataset: Search-R1's merged test file holds
		// seven sets whose ids each start again at 0.
		key := q.Dataset + "\x00" + q.ID
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s:%d: question id %q repeats line %d", name, r.line, q.ID, prev)
		}
		seen[key] = r.line
		qs = append(qs, q)
	}
	return qs, nil
}

// check fills the dataset and rejects a question without text or answers.
func check(q *Question, f string) error {
	if q.Dataset == "" {
		q.Dataset = f
	}
	switch {
	case q.ID == "":
		return errors.New("question without an id")
	case strings.TrimSpace(q.Question) == "":
		return fmt.Errorf("question %s: empty question text", q.ID)
	case len(q.Answers) == 0:
		return fmt.Errorf("question %s: no gold answers", q.ID)
	}
	return nil
}

// record is one JSON object of a file and the line it starts on.
type record struct {
	data []byte
	line int
}

// splitRecords splits a JSON array, or a stream of JSON objects (JSONL,
// or objects written over several lines), into its records.
func splitRecords(data []byte, name string) ([]record, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	dec := json.NewDecoder(bytes.NewReader(data))
	// lineAt counts lines incrementally: offsets only grow, so the file is
	// scanned once, not once per record.
	lastOff, lastLine := 0, 1
	lineAt := func(off int64) int {
		o := max(min(int(off), len(data)), 0)
		if o < lastOff {
			return 1 + bytes.Count(data[:o], []byte("\n"))
		}
		lastLine += bytes.Count(data[lastOff:o], []byte("\n"))
		lastOff = o
		return lastLine
	}
	// errLine places a decoding error: a syntax error knows its offset.
	errLine := func(err error, off int64) int {
		if se, ok := err.(*json.SyntaxError); ok {
			return lineAt(se.Offset)
		}
		return lineAt(off)
	}
	t := bytes.TrimLeft(data, " \t\r\n")
	array := len(t) > 0 && t[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var out []record
	for {
		if array && !dec.More() {
			break
		}
		off := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if !array && err == io.EOF {
			break
		}
		what := "record"
		if array {
			what = fmt.Sprintf("element %d", len(out))
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, errLine(err, dec.InputOffset()), what, err)
		}
		// off is where the previous value ended; this one starts at its
		// first byte that is not space or a separating comma.
		start := int(off) + len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n,"))
		if len(raw) == 0 || raw[0] != '{' {
			return nil, fmt.Errorf("%s:%d: %s: want a JSON object", name, lineAt(int64(start)), what)
		}
		out = append(out, record{data: raw, line: lineAt(int64(start))})
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, errLine(err, dec.InputOffset()), err)
		}
	}
	return out, nil
}

// detect names the format of a record from its fields.
func detect(data []byte) (string, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return "", err
	}
	has := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := keys[k]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("reward_model") || has("data_source", "prompt"):
		return FormatSearchR1, nil
	case has("contexts", "question_text"):
		return FormatHotpotIRCoT, nil
	case has("paragraphs", "question_decomposition"):
		return FormatMuSiQue, nil
	case has("context", "supporting_facts") && (has("evidences") || has("entity_ids")):
		return Format2Wiki, nil
	case has("context", "supporting_facts") || has("context", "question", "answer"):
		return FormatHotpotOriginal, nil
	case has("golden_answers"):
		return FormatFlashRAG, nil
	case has("answers", "question") && (has("supporting") || has("hops") || has("chain")):
		return FormatWorld, nil
	}
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return "", fmt.Errorf("unknown question format: fields %v (want Search-R1, FlashRAG, HotpotQA, 2WikiMultihopQA, MuSiQue or world questions)", ks)
}

// parseWorld reads a world question file with the world package's own
// parser; the split is the first question's.
func parseWorld(data, first []byte, name string) ([]Question, error) {
	var head struct {
		Split string `json:"split"`
	}
	_ = json.Unmarshal(first, &head)
	wqs, err := world.ParseQuestions(bytes.NewReader(data), name, head.Split)
	if err != nil {
		return nil, err
	}
	qs := make([]Question, len(wqs))
	for i, w := range wqs {
		qs[i] = Question{ID: w.ID, Question: w.Question, Answers: w.Answers, Supporting: w.Supporting,
			Dataset: FormatWorld, Hops: w.Hops, Meta: map[string]string{"split": w.Split, "type": w.Type}}
	}
	return qs, nil
}

// jsonID reads an id written as a JSON string or number.
func jsonID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("id %s is neither a string nor a number", raw)
	}
	return n.String(), nil
}

// strings1 reads a JSON string or array of strings.
func strings1(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, errors.New("want a string or an array of strings")
	}
	return ss, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
