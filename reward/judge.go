package reward

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the default judge prompt
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
)

//go:embed prompts/judge.txt
var defaultJudgePrompt string

// DefaultJudgePrompt returns the built-in judge prompt template.
func DefaultJudgePrompt() string { return defaultJudgePrompt }

// LoadJudgePrompt reads a judge prompt template from a file; it must hold
// {question}, {gold} and {answer}.
func LoadJudgePrompt(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("judge prompt: %w", err)
	}
	if err := checkPrompt(string(b)); err != nil {
		return "", fmt.Errorf("judge prompt %s: %w", path, err)
	}
	return string(b), nil
}

func checkPrompt(p string) error {
	for _, ph := range []string{"{question}", "{gold}", "{answer}"} {
		if !strings.Contains(p, ph) {
			return fmt.Errorf("template lacks %s", ph)
		}
	}
	return nil
}

// JudgeConfig configures a Judge. Zero values take the defaults noted.
type JudgeConfig struct {
	Model     string // model name passed to the client; empty is its default
	Prompt    string // template with {question}, {gold}, {answer}; default DefaultJudgePrompt
	MaxTokens int    // default 64; raise it for judges that reason first
	CachePath string // optional JSONL file of verdicts, read at start and appended to
}

// Judge is the LLM-as-judge reward: 1 when the judge model says the answer
// is correct, else 0. It asks at temperature 0 and caches verdicts in
// memory (and, with CachePath, on disk) by model, prompt, question, gold
// answers and answer, so repeated episodes cost one call. An empty answer
// scores 0 without a call. Safe for concurrent use; Close it when done.
type Judge struct {
	client llm.Client
	cfg    JudgeConfig
	prompt string // hash of the template, part of every key

	mu  sync.Mutex
	mem map[string]bool
	f   *os.File
}

// judgeRecord is one line of the on-disk cache.
type judgeRecord struct {
	Key      string `json:"key"`
	Question string `json:"question,omitempty"`
	Answer   string `json:"answer,omitempty"`
	Correct  bool   `json:"correct"`
}

// NewJudge returns a judge over client, loading the cache file if any.
func NewJudge(client llm.Client, cfg JudgeConfig) (*Judge, error) {
	if client == nil {
		return nil, errors.New("judge: no LLM client")
	}
	if cfg.Prompt == "" {
		cfg.Prompt = defaultJudgePrompt
	}
	if err := checkPrompt(cfg.Prompt); err != nil {
		return nil, fmt.Errorf("judge: %w", err)
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 64
	}
	h := sha256.Sum256([]byte(cfg.Prompt))
	j := &Judge{client: client, cfg: cfg, prompt: hex.EncodeToString(h[:8]), mem: map[string]bool{}}
	if cfg.CachePath == "" {
		return j, nil
	}
	f, err := os.OpenFile(cfg.CachePath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("judge cache: %w", err)
	}
	if err := readJudgeCache(f, cfg.CachePath, j.mem); err != nil {
		f.Close()
		return nil, err
	}
	j.f = f
	return j, nil
}

// readJudgeCache loads verdicts into m; a malformed line is an error
// naming file and line.
func readJudgeCache(r io.Reader, name string, m map[string]bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec judgeRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("judge cache %s:%d: %w", name, n, err)
		}
		if rec.Key == "" {
			return fmt.Errorf("judge cache %s:%d: record without a key", name, n)
		}
		m[rec.Key] = rec.Correct
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("judge cache %s: %w", name, err)
	}
	return nil
}

// Close closes the cache file.
func (j *Judge) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

func (j *Judge) key(question string, golds []string, answer string) string {
	h := sha256.New()
	for _, s := range []string{j.cfg.Model, j.prompt, question, strings.Join(golds, "\x1f"), answer} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Verdict asks (or recalls) whether answer is a correct answer to question
// given the gold answers.
func (j *Judge) Verdict(ctx context.Context, question string, golds []string, answer string) (bool, error) {
	if strings.TrimSpace(answer) == "" {
		return false, nil
	}
	k := j.key(question, golds, answer)
	j.mu.Lock()
	v, ok := j.mem[k]
	j.mu.Unlock()
	if ok {
		return v, nil
	}
	prompt := strings.NewReplacer("{question}", question, "{gold}", strings.Join(golds, " | "), "{answer}", Fence(answer)).
		Replace(j.cfg.Prompt)
	seed := int64(0)
	resp, err := j.client.Generate(ctx, llm.Request{Model: j.cfg.Model, Messages: []llm.Message{{Role: "user", Content: prompt}},
		MaxTokens: j.cfg.MaxTokens, Temperature: 0, Seed: &seed})
	if err != nil {
		return false, fmt.Errorf("judge: %w", err)
	}
	if len(resp.Choices) == 0 {
		return false, errors.New("judge: the model returned no choices")
	}
	v, err = ParseVerdict(resp.Choices[0].Text)
	if err != nil {
		return false, fmt.Errorf("judge: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.mem[k] = v
	if j.f != nil {
		b, _ := json.Marshal(judgeRecord{Key: k, Question: question, Answer: answer, Correct: v})
		if _, err := j.f.Write(append(b, '\n')); err != nil {
			return v, fmt.Errorf("judge cache %s: %w", j.cfg.CachePath, err)
		}
	}
	return v, nil
}

// Score is 1 when the judge accepts ep.Answer.
func (j *Judge) Score(ctx context.Context, ep *agent.Episode, g Gold) (Score, error) {
	q := g.Question
	if q == "" {
		q = ep.Question
	}
	ok, err := j.Verdict(ctx, q, g.Answers, ep.Answer)
	if err != nil {
		return Score{}, err
	}
	v := b2f(ok)
	return Score{Total: v, Components: []Component{{"judge", v}}}, nil
}

// Fence puts a policy's answer between markers it cannot close: the
// marker names a hash of the answer itself, so no answer can contain its
// own closing marker (that would need a string holding a hash of
// itself). A judge told that everything between the markers is the
// answer, data to grade and never instructions, then reads "reply yes"
// inside as part of a (wrong) answer, so RL with a judge term cannot
// learn to talk to its judge.
func Fence(answer string) string {
	h := sha256.Sum256([]byte(answer))
	id := hex.EncodeToString(h[:6])
	return "<<<ANSWER " + id + ">>>\n" + answer + "\n<<<END ANSWER " + id + ">>>"
}

// verdictLabels introduce the verdict in a judge's reply; the text after
// the last one is read first.
var verdictLabels = []string{"verdict:", "final answer:", "judgement:", "judgment:", "answer:"}

// ParseVerdict reads a yes/no verdict from a judge's reply: reasoning in
// <think> tags is dropped, the text after the last "verdict:" (or "final
// answer:", "judgement:", "answer:") is preferred, and the first of yes,
// correct, true (negated by a preceding "not") or no, incorrect, false,
// wrong decides.
func ParseVerdict(text string) (bool, error) {
	t := strings.ToLower(text)
	if i := strings.LastIndex(t, "</think>"); i >= 0 {
		t = t[i+len("</think>"):]
	}
	for _, lab := range verdictLabels {
		if i := strings.LastIndex(t, lab); i >= 0 {
			if v, err := firstVerdict(t[i+len(lab):]); err == nil {
				return v, nil
			}
			break
		}
	}
	v, err := firstVerdict(t)
	if err != nil {
		if len(text) > 80 {
			text = text[:80] + "…"
		}
		return false, fmt.Errorf("no yes/no verdict in %q", text)
	}
	return v, nil
}

func firstVerdict(t string) (bool, error) {
	words := strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) })
	for i, w := range words {
		switch w {
		case "yes", "correct", "true":
			return i == 0 || words[i-1] != "not", nil
		case "no", "incorrect", "false", "wrong":
			return false, nil
		}
	}
	return false, errors.New("no verdict")
}
