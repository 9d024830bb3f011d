package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/corpus"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
)

// fixedHits is a retriever that costs nothing: every query gets the same
// three passages, so a benchmark measures the runner alone.
type fixedHits []search.Hit

func (f fixedHits) Search(_ context.Context, qs []string, k int) ([][]search.Hit, error) {
	out := make([][]search.Hit, len(qs))
	for i := range out {
		out[i] = f[:min(k, len(f))]
	}
	return out, nil
}

// fourTurns searches three times, then answers, at zero cost.
type fourTurns struct{}

func (fourTurns) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	text, stop := " <search> a query ", "</search>"
	if len(req.Prompt) > 3000 {
		text, stop = " <answer> x ", "</answer>"
	}
	return llm.Response{Choices: []llm.Choice{{Text: text, FinishReason: "stop", StopString: stop}}}, nil
}

// BenchmarkEpisode measures the runner's own cost per 4-turn episode.
func BenchmarkEpisode(b *testing.B) {
	text := strings.Repeat("word ", 100)
	hits := fixedHits{{Passage: corpus.Passage{ID: "a", Title: "A", Text: text}}, {Passage: corpus.Passage{ID: "b", Title: "B", Text: text}}, {Passage: corpus.Passage{ID: "c", Title: "C", Text: text}}}
	p, err := LoadPreset("searchr1")
	if err != nil {
		b.Fatal(err)
	}
	r := &Runner{Preset: p, Policy: fourTurns{}, Tools: map[string]Tool{"search": SearchTool{R: hits}}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ep := r.Run(context.Background(), Question{ID: "q", Text: "Who?"}, i)
		if ep.Status != Answered {
			b.Fatalf("status %s %s", ep.Status, ep.Reason)
		}
	}
}
