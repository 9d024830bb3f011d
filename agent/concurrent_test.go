package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/vision"
)

// seededVRAG plays VRAG from the prompt and the seed: it searches the
// question, zooms into a quarter of the page that the seed picks, and
// answers with the seed, so episodes of one question under different
// seeds differ in their crops and answers.
type seededVRAG struct{}

func (seededVRAG) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	if req.Seed == nil {
		return llm.Response{}, fmt.Errorf("unseeded request")
	}
	seed := *req.Seed
	_, q, _ := strings.Cut(req.Prompt, "Question: ")
	q, _, _ = strings.Cut(q, "\n")
	quarters := []string{"[0, 0, 0.5, 0.5]", "[0.5, 0, 1, 0.5]", "[0, 0.5, 0.5, 1]", "[0.5, 0.5, 1, 1]"}
	out := "<think>\n</think><search> " + q + " </search>"
	switch {
	case strings.Contains(req.Prompt, "Crop of page"):
		out = fmt.Sprintf("<answer> %d </answer>", seed)
	case strings.Contains(req.Prompt, "<information>Page"):
		out = "<region>" + quarters[(seed+seed/1000)%4] + "</region>"
	}
	return stopped(out, req.Stop), nil
}

// timeless is ep without its clock readings, which differ run to run.
func timeless(ep *Episode) *Episode {
	c := *ep
	c.Started = time.Time{}
	c.Ledger.LLMTime, c.Ledger.ToolTime, c.Ledger.Wall = 0, 0, 0
	c.Turns = append([]Turn(nil), ep.Turns...)
	for i := range c.Turns {
		c.Turns[i].Duration = 0
		c.Turns[i].Calls = append([]ToolCall(nil), c.Turns[i].Calls...)
		for j := range c.Turns[i].Calls {
			c.Turns[i].Calls[j].Duration = 0
		}
	}
	return &c
}

// TestRunnerConcurrentCalls: one runner serves many callers at once, each
// with its own seed and event sink (evaluation and RL on one runner), and
// every episode equals the same call made alone: seeds, sinks and the
// episodes' page memories do not leak between calls. Run it with -race.
func TestRunnerConcurrentCalls(t *testing.T) {
	w, ix := worldPages(t)
	r := vragRunner(t, seededVRAG{}, PageSearchTool{R: ix, Pages: vision.Renderer{}, MaxSide: 256})
	ctx := context.Background()
	const calls = 16
	question := func(i int) Question {
		return Question{ID: fmt.Sprintf("c%d", i), Text: w.Passages[(i%8)*5].Title}
	}
	type sink struct {
		mu     sync.Mutex
		events []Event
	}
	record := func(s *sink) RunOption {
		return WithEvents(func(ev Event) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.events = append(s.events, ev)
		})
	}
	alone := make([]*Episode, calls)
	aloneEvents := make([]int, calls)
	for i := range calls {
		var s sink
		alone[i] = r.Run(ctx, question(i), i%3, WithSeed(int64(i)), record(&s))
		aloneEvents[i] = len(s.events)
		if alone[i].Status != Answered || alone[i].Answer != fmt.Sprint(i+(i%3)*1000+2) || len(alone[i].Images) != 2 {
			t.Fatalf("call %d alone: %s (%s), answer %q, %d images", i, alone[i].Status, alone[i].Reason, alone[i].Answer, len(alone[i].Images))
		}
	}
	if alone[0].Images[1].SHA256 == alone[1].Images[1].SHA256 {
		t.Fatal("two seeds cropped the same region: the test could not see a seed leak")
	}
	// Every call again, all at once, beside a RunMany with a seed of its
	// own on the same runner.
	got := make([]*Episode, calls)
	sinks := make([]sink, calls)
	var wg sync.WaitGroup
	var batch []*Episode
	wg.Go(func() {
		qs := []Question{question(0), question(1), question(2), question(3)}
		batch = r.RunMany(ctx, qs, 4, WithSeed(7000))
	})
	for i := range calls {
		wg.Go(func() { got[i] = r.Run(ctx, question(i), i%3, WithSeed(int64(i)), record(&sinks[i])) })
	}
	wg.Wait()
	for i := range calls {
		if d := cmp.Diff(timeless(alone[i]), timeless(got[i])); d != "" {
			t.Errorf("call %d run beside others differs from alone (-alone +together):\n%s", i, d)
		}
		if len(sinks[i].events) != aloneEvents[i] {
			t.Errorf("call %d: its sink got %d events, alone %d", i, len(sinks[i].events), aloneEvents[i])
		}
		for _, ev := range sinks[i].events {
			if ev.Episode != got[i].ID {
				t.Errorf("call %d's sink got an event of episode %s", i, ev.Episode)
			}
		}
	}
	for i, ep := range batch {
		if want := fmt.Sprint(7000 + i*1000 + 2); ep.Answer != want {
			t.Errorf("batch episode %d answered %q, want %q (its own seed)", i, ep.Answer, want)
		}
	}
}
