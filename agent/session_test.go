package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSessionMatchesRun steps the same episodes through a Session as Run
// works them with a policy: the prompt, every observation and the
// finished episode's answer, status, format errors, retrieved passages
// and ledger counts must agree.
func TestSessionMatchesRun(t *testing.T) {
	q := "Where was the founder of Varnel Labs born?"
	for _, tc := range []struct {
		preset string
		turns  []string
	}{
		{"searchr1", []string{
			"<think>founder</think>\n<search> Varnel Labs founder </search>",
			"<search></search>", // malformed: observed, counted
			"<think>birthplace</think>\n<search> Ada Quill born Tarsk </search>",
			"<think>Tarsk.</think>\n<answer> Tarsk </answer>",
		}},
		{"deepresearcher", []string{
			`<think>two facts</think><tool_call>{"name": "web_search", "arguments": {"query": ["Varnel Labs founder", "Ada Quill born"]}}</tool_call>`,
			"<answer>Tarsk</answer>",
		}},
		{"rag", []string{"<answer>Tarsk</answer>"}},
		{"searchr1", []string{"<think>I give up</think>"}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			pol := newScript()
			pol.turns[q] = tc.turns
			r := runner(t, tc.preset, pol)
			ep := r.Run(context.Background(), Question{ID: "q1", Text: q}, 0)

			ses, err := r.NewSession(context.Background(), Question{ID: "q1", Text: q})
			if err != nil {
				t.Fatal(err)
			}
			if ses.Prompt() != ep.Context[0].Text {
				t.Fatalf("session prompt %q, episode's %q", ses.Prompt(), ep.Context[0].Text)
			}
			var completions []string
			for _, turn := range ep.Turns {
				completions = append(completions, turn.Completion)
				if turn.Action.Error != "" || len(turn.Action.Calls) == 0 {
					continue
				}
				texts, err := ses.Call(context.Background(), turn.Action.Calls)
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range turn.Calls {
					if texts[i] != c.Observation {
						t.Fatalf("turn %d call %d: session observed %q, Run %q", turn.Index, i, texts[i], c.Observation)
					}
				}
			}
			got := ses.Finish(completions)
			type summary struct {
				Answer             string
				Status             Status
				FormatErrors       int
				Retrieved          []HitRef
				Queries            []string
				Searches, Calls, N int
			}
			sum := func(e *Episode) summary {
				return summary{e.Answer, e.Status, e.FormatErrors, e.Retrieved, e.Queries, e.Ledger.Searches, e.Ledger.ToolCalls, len(e.Turns)}
			}
			if ep.Status == OverBudget { // Run keeps asking; the trainer's turns are what it sent
				want := sum(ep)
				want.N = len(completions)
				if d := cmp.Diff(want, sum(got)); d != "" {
					t.Fatalf("(-Run +Session):\n%s", d)
				}
				return
			}
			if d := cmp.Diff(sum(ep), sum(got)); d != "" {
				t.Fatalf("(-Run +Session):\n%s", d)
			}
		})
	}
}

func TestSessionRefusesBadCalls(t *testing.T) {
	r := runner(t, "searchr1", newScript())
	ses, err := r.NewSession(context.Background(), Question{Text: "q"})
	if err != nil {
		t.Fatal(err)
	}
	for _, calls := range [][]Call{nil, {{Tool: "browse", Input: "x"}}, {{Tool: "search", Input: string(make([]byte, 600))}}} {
		if _, err := ses.Call(context.Background(), calls); !errors.Is(err, ErrBadCall) {
			t.Errorf("%v: err %v, want ErrBadCall", calls, err)
		}
	}
	if _, err := ses.CallJSON(context.Background(), "search", map[string]any{"q": "x"}); !errors.Is(err, ErrBadCall) {
		t.Errorf("arguments without a query: %v", err)
	}
	for range r.Preset.Budget.MaxToolCalls {
		if _, err := ses.Call(context.Background(), []Call{{Tool: "search", Input: "Tarsk"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ses.Call(context.Background(), []Call{{Tool: "search", Input: "Tarsk"}}); !errors.Is(err, ErrBudget) {
		t.Errorf("call beyond the budget: %v", err)
	}
	if ses.Ledger().ToolCalls != r.Preset.Budget.MaxToolCalls {
		t.Errorf("ledger %+v", ses.Ledger())
	}
	if _, err := r.NewSession(context.Background(), Question{Text: "q"}); err != nil {
		t.Fatal(err)
	}
	mmoa := runner(t, "mmoa", newScript())
	if _, err := mmoa.NewSession(context.Background(), Question{Text: "q"}); !errors.Is(err, ErrNotSteppable) {
		t.Errorf("mmoa: %v", err)
	}
}
