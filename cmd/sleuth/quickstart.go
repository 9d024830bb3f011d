package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/internal/progress"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

type quickstartFlags struct {
	out     string
	seed    int64
	show    int
	k       int
	jsonOut bool
}

// quickstartSummary is what `sleuth quickstart --json` prints.
type quickstartSummary struct {
	Dir       string                  `json:"dir"`
	World     world.Summary           `json:"world"`
	Index     bm25.Stats              `json:"index"`
	Split     string                  `json:"split"`
	K         int                     `json:"k"`
	Retrieval map[string]hopRetrieval `json:"retrieval"` // by hop count ("1".."4") and "comparison"
	ReaderEM  float64                 `json:"retrieval_only_reader_em"`
	Seconds   float64                 `json:"seconds"`
}

// hopRetrieval measures question-only retrieval for one kind of question.
type hopRetrieval struct {
	Questions int     `json:"questions"`
	AllGold   float64 `json:"all_gold_at_k"` // share with every gold passage in the top k
	AnyGold   float64 `json:"any_gold_at_k"`
}

func newQuickstartCmd() *cobra.Command {
	var f quickstartFlags
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Generate a world, index it and answer its questions (the main job, on embedded defaults)",
		Long: `quickstart runs sleuth end to end on the embedded defaults, offline:
it generates a synthetic multi-hop world, builds a BM25 index of its corpus,
and answers the dev questions with retrieval alone (search with the question,
then pick the best-supported candidate from the top passages), reporting how
often question-only retrieval finds the gold passages per hop count. That
gap, large at 3 and 4 hops, is what a trained research agent closes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQuickstart(cmd.Context(), f, cmd.OutOrStdout(), stderr(cmd))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "sleuth-quickstart", "directory for the world and the index")
	fl.Int64Var(&f.seed, "seed", 1, "world seed")
	fl.IntVar(&f.show, "show", 4, "example questions to show with what retrieval found")
	fl.IntVar(&f.k, "k", 10, "passages retrieved per question")
	fl.BoolVar(&f.jsonOut, "json", false, "print the summary as JSON")
	return cmd
}

func runQuickstart(ctx context.Context, f quickstartFlags, out, errw io.Writer) error {
	start := time.Now()
	sum := quickstartSummary{Dir: f.out, Split: world.Dev, K: f.k, Retrieval: map[string]hopRetrieval{}}
	fmt.Fprintf(errw, "[1/3] generating world (seed %d)\n", f.seed)
	w, err := world.Generate(world.Config{Seed: f.seed})
	if err != nil {
		return err
	}
	worldDir := filepath.Join(f.out, "world")
	if err := w.Write(worldDir); err != nil {
		return err
	}
	sum.World = w.Summary()

	fmt.Fprintf(errw, "[2/3] indexing %d passages\n", len(w.Passages))
	indexDir := filepath.Join(f.out, "index")
	rep := progress.New(errw, "indexing", "passages", int64(len(w.Passages)))
	stats, err := bm25.Build(ctx, indexDir, passageSeq(w.Passages), bm25.BuildOptions{Progress: func(done int) { rep.Set(int64(done)) }})
	rep.Finish()
	if err != nil {
		return err
	}
	sum.Index = stats
	ix, err := bm25.Open(indexDir)
	if err != nil {
		return err
	}
	defer ix.Close()

	qs := w.Split(world.Dev)
	fmt.Fprintf(errw, "[3/3] answering %d %s questions with retrieval only\n", len(qs), world.Dev)
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	hits, err := ix.Search(ctx, texts, f.k)
	if err != nil {
		return err
	}
	reader := newCandidateReader(w)
	correct := 0
	agg := map[string][3]int{}
	var examples []string
	for i, q := range qs {
		all, anyGold := goldFound(q, hits[i])
		key := fmt.Sprint(q.Hops)
		if q.Type == world.Comparison {
			key = world.Comparison
		}
		a := agg[key]
		a[0]++
		if all {
			a[1]++
		}
		if anyGold {
			a[2]++
		}
		agg[key] = a
		guess := reader.answer(q.Question, hits[i])
		ok := matchesAny(guess, q.Answers)
		if ok {
			correct++
		}
		if len(examples) < f.show && (i%max(1, len(qs)/max(f.show, 1)) == 0) {
			examples = append(examples, describe(q, hits[i], guess, ok))
		}
	}
	for key, a := range agg {
		sum.Retrieval[key] = hopRetrieval{Questions: a[0], AllGold: ratio(a[1], a[0]), AnyGold: ratio(a[2], a[0])}
	}
	sum.ReaderEM = ratio(correct, len(qs))
	sum.Seconds = time.Since(start).Seconds()
	if f.jsonOut {
		return writeJSON(out, sum)
	}
	printQuickstart(out, sum, examples)
	return nil
}

func passageSeq(ps []corpus.Passage) func(func(corpus.Passage, error) bool) {
	return func(yield func(corpus.Passage, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func goldFound(q world.Question, hits []search.Hit) (all, anyGold bool) {
	got := map[string]bool{}
	for _, h := range hits {
		got[h.Passage.ID] = true
	}
	all = len(q.Supporting) > 0
	for _, id := range q.Supporting {
		if got[id] {
			anyGold = true
		} else {
			all = false
		}
	}
	return all, anyGold
}

func describe(q world.Question, hits []search.Hit, guess string, ok bool) string {
	var b strings.Builder
	gold := map[string]bool{}
	for _, id := range q.Supporting {
		gold[id] = true
	}
	mark := "✗"
	if ok {
		mark = "✓"
	}
	fmt.Fprintf(&b, "Q (%d-hop %s): %s\n  gold answer: %s   retrieval-only guess: %s %s\n", q.Hops, q.Type, q.Question, q.Answers[0], guess, mark)
	for i, h := range hits[:min(3, len(hits))] {
		g := " "
		if gold[h.Passage.ID] {
			g = "*"
		}
		fmt.Fprintf(&b, "  %s %d. [%.2f] %s: %s\n", g, i+1, h.Score, h.Passage.Title, clip(h.Passage.Text, 90))
	}
	return b.String()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func printQuickstart(w io.Writer, s quickstartSummary, examples []string) {
	fmt.Fprintf(w, "\nworld: %d passages, %d questions (seed %d) in %s\n", s.World.Passages, s.World.Questions, s.World.Seed, filepath.Join(s.Dir, "world"))
	fmt.Fprintf(w, "index: %d passages, %d terms, %.1f MB in %.2fs at %s\n\n", s.Index.Passages, s.Index.Terms, float64(s.Index.Bytes)/1e6, s.Index.Seconds, filepath.Join(s.Dir, "index"))
	for _, e := range examples {
		fmt.Fprintln(w, e)
	}
	fmt.Fprintf(w, "question-only BM25 retrieval on the %s split (top %d; * marks gold passages above):\n", s.Split, s.K)
	fmt.Fprintf(w, "  %-11s %9s %14s %14s\n", "questions", "count", "all gold found", "any gold found")
	keys := make([]string, 0, len(s.Retrieval))
	for k := range s.Retrieval {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r := s.Retrieval[k]
		label := k + "-hop"
		if k == world.Comparison {
			label = k
		}
		fmt.Fprintf(w, "  %-11s %9d %13.1f%% %13.1f%%\n", label, r.Questions, 100*r.AllGold, 100*r.AnyGold)
	}
	fmt.Fprintf(w, "retrieval-only reader exact match: %.1f%%   (%.1fs in all)\n", 100*s.ReaderEM, s.Seconds)
	fmt.Fprintln(w, "Multi-hop questions need an agent that searches again with what it found: try `sleuth ask --preset searchr1 --index "+filepath.Join(s.Dir, "index")+" --llm URL`.")
}

// candidateReader answers from retrieved passages alone: every entity name
// and literal of the world is a candidate, scored by the reciprocal ranks of
// the passages mentioning it, skipping those the question already names.
// It is the floor a research agent must beat, not a model.
type candidateReader struct {
	cands []string
}

func newCandidateReader(w *world.World) *candidateReader {
	seen := map[string]bool{}
	r := &candidateReader{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			r.cands = append(r.cands, s)
		}
	}
	for _, e := range w.Entities {
		add(e.Name)
	}
	for _, f := range w.Facts {
		add(f.Value)
	}
	return r
}

// yesNo reports whether a question asks for yes or no.
func yesNo(q string) bool {
	first, _, _ := strings.Cut(q, " ")
	switch strings.ToLower(first) {
	case "is", "are", "was", "were", "did", "do", "does", "has", "have":
		return true
	}
	return false
}

// containsWord reports whether s contains w delimited by non-letters.
func containsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		off = i + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func (r *candidateReader) answer(question string, hits []search.Hit) string {
	if yesNo(question) {
		return "yes"
	}
	best, bestScore := "", 0.0
	for _, c := range r.cands {
		if containsWord(question, c) {
			continue
		}
		score := 0.0
		for rank, h := range hits[:min(5, len(hits))] {
			if containsWord(h.Passage.Text, c) {
				score += 1 / float64(rank+1)
			}
		}
		if score > bestScore || (score == bestScore && score > 0 && len(c) > len(best)) {
			best, bestScore = c, score
		}
	}
	return best
}

func matchesAny(guess string, answers []string) bool {
	for _, a := range answers {
		if strings.EqualFold(strings.TrimSpace(guess), strings.TrimSpace(a)) {
			return true
		}
	}
	return false
}
