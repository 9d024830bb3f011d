package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is one episode whose policy turns are generated outside sleuth,
// by a trainer's rollout engine (verl, SkyRL): the environment server
// opens one per trajectory, runs the tool calls the trainer parsed from
// the policy's output against the preset's tools, with the episode's own
// state (passages already seen and their numbering, budgets, the cost
// ledger), and at the end turns the policy's text into an Episode that the
// preset's reward scores like any other.
//
// A Session is not safe for concurrent use: callers serialise its calls.
// It holds no model: presets whose roles are models (IM-RAG's refiner,
// MMOA's pipeline) cannot be stepped from outside.
type Session struct {
	s      state
	prompt string
	turn   int
}

// ErrNotSteppable is returned by NewSession for presets that need a model
// inside the episode.
var ErrNotSteppable = errors.New("preset runs model roles inside its episodes and cannot be stepped by an outside policy")

// NewSession opens an episode of q. Rag presets retrieve with the question
// at once, as Run does, so their prompt holds the documents.
func (r *Runner) NewSession(ctx context.Context, q Question) (*Session, error) {
	p := &r.Preset
	if p.Mode == ModePipeline || len(p.Roles) > 0 {
		return nil, fmt.Errorf("preset %s: %w", p.Name, ErrNotSteppable)
	}
	ses := r.BareSession(q)
	prompt := ses.prompt
	if p.Mode == ModeRAG {
		texts, err := ses.call(ctx, []Call{{Tool: ToolSearch, Input: q.Text}})
		if err != nil {
			return nil, err
		}
		prompt = strings.ReplaceAll(prompt, "{documents}", strings.TrimRight(texts[0], "\n"))
	}
	ses.prompt = prompt
	return ses, nil
}

// BareSession opens an episode of q without running anything: a rag
// preset's prompt keeps its {documents} unfilled. It serves to score
// turns that were generated without a session (Finish with no calls made).
func (r *Runner) BareSession(q Question) *Session {
	ep := &Episode{ID: q.ID, Question: q.Text, Preset: r.Preset.Name, Started: time.Now()}
	ses := &Session{s: state{r: r, p: r.tags(), ep: ep, images: r.imageMemory(ep)}}
	ses.prompt = strings.ReplaceAll(r.Preset.Prompt, "{question}", q.Text)
	return ses
}

// Prompt is the episode's first context: the preset's template around the
// question (and, for rag presets, the documents).
func (ses *Session) Prompt() string { return ses.prompt }

// Ledger is what the episode has consumed so far.
func (ses *Session) Ledger() Ledger { return ses.s.ep.Ledger }

// ErrBudget marks a tool call refused because the episode's budget is
// spent; the episode itself goes on (the policy may still answer).
var ErrBudget = errBudget

// ErrBadCall marks a call the session refused before running it: no
// calls, a tool the preset lacks, an input too long or malformed
// arguments.
var ErrBadCall = errors.New("bad tool call")

// Call runs one turn's tool calls (names as the policy calls them, mapped
// by the preset's tool_names) and returns each call's observation text,
// escaped and guarded as the runner shows it, without the preset's
// observation template around it. Documents are numbered across the
// episode and, with dedup_hits, passages already shown are left out.
// A call beyond the budget fails with an error wrapping ErrBudget; an
// unknown tool fails too; neither changes the episode.
func (ses *Session) Call(ctx context.Context, calls []Call) ([]string, error) {
	if len(calls) == 0 {
		return nil, fmt.Errorf("%w: no tool calls", ErrBadCall)
	}
	for _, c := range calls {
		if !ses.s.hasTool(c.Tool) {
			return nil, fmt.Errorf("%w: unknown tool %q", ErrBadCall, c.Tool)
		}
		if len(c.Input) > ses.s.r.Preset.Budget.MaxQueryBytes {
			return nil, fmt.Errorf("%w: %s input of %d bytes exceeds %d", ErrBadCall, c.Tool, len(c.Input), ses.s.r.Preset.Budget.MaxQueryBytes)
		}
	}
	ses.turn++
	texts, err := ses.call(ctx, calls)
	return append([]string(nil), texts...), err
}

// CallJSON is Call for one function call as chat models write it: the
// tool's name and its JSON arguments (query, queries, url, url_list or
// urls as a string or a list of strings; other string arguments pass on
// as Args), each input one call.
func (ses *Session) CallJSON(ctx context.Context, name string, arguments map[string]any) ([]string, error) {
	calls, err := callsOf(toolCallJSON{Name: name, Arguments: arguments}, ses.s.r.Preset.Budget.MaxQueryBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCall, err)
	}
	return ses.Call(ctx, calls)
}

func (ses *Session) call(ctx context.Context, calls []Call) ([]string, error) {
	return ses.s.callAll(ctx, ses.turn, calls, nil)
}

// Finish records the policy's turns (each the text it generated since the
// last observation; SplitTurns cuts a transcript into them) and returns
// the episode as Run would have ended it: the first well-formed answer
// ends it, a malformed turn counts as a format error (and ends it when the
// preset says so), and turns that run out without an answer leave it over
// budget. The episode shares the session's records: finish a session
// once, and do not call it afterwards.
func (ses *Session) Finish(turns []string) *Episode {
	s, ep := &ses.s, ses.s.ep
	p := &s.r.Preset
	ep.Turns = make([]Turn, 0, len(turns))
	callsAt := 0
	for i, text := range turns {
		a := s.p.Parse(text)
		t := Turn{Index: i, Role: MainRole, Completion: text, Action: a}
		if a.Kind == ActionSearch || a.Kind == ActionCrop {
			// The session's calls in the order made: a turn that called
			// tools owns the next ones.
			n := min(len(a.Calls), len(s.calls)-callsAt)
			t.Calls = s.calls[callsAt : callsAt+n : callsAt+n]
			callsAt += n
		}
		ep.Turns = append(ep.Turns, t)
		ep.Ledger.Turns++
		if a.Error != "" {
			ep.FormatErrors++
			if p.OnFormatError == "end" || p.Mode != ModeTags {
				ep.Status, ep.Reason = FormatError, a.Error
				break
			}
			continue
		}
		if a.Kind == ActionAnswer {
			ep.Answer, ep.Evidence = a.Answer, s.resolveEvidence(a.Evidence)
			ep.Status = Answered
			break
		}
	}
	if ep.Status == "" {
		ep.Status, ep.Reason = OverBudget, fmt.Sprintf("%d turns without an answer", len(ep.Turns))
	}
	ep.Ledger.Wall = time.Since(ep.Started)
	return ep
}

// SplitTurns cuts a rollout transcript (the policy's text with the
// environment's observations between its turns, as a trainer decodes its
// response) into the policy's turns: the text around each observation,
// which is found by the preset's observation template's trimmed opening
// and closing parts, or by <tool_response> blocks (chat templates' tool
// messages). Whitespace-only pieces are dropped.
func SplitTurns(p Preset, transcript string) []string {
	pre, post, _ := strings.Cut(p.Observation, "{observation}")
	type pair struct{ open, close string }
	pairs := []pair{{"<tool_response>", "</tool_response>"}}
	if o, c := strings.TrimSpace(pre), strings.TrimSpace(post); o != "" && c != "" {
		pairs = append([]pair{{o, c}}, pairs...)
	}
	var turns []string
	keep := func(s string) {
		if strings.TrimSpace(s) != "" {
			turns = append(turns, s)
		}
	}
	rest := transcript
	for {
		at, which := -1, 0
		for k, pr := range pairs {
			if i := strings.Index(rest, pr.open); i >= 0 && (at < 0 || i < at) {
				at, which = i, k
			}
		}
		if at < 0 {
			break
		}
		keep(rest[:at])
		rest = rest[at+len(pairs[which].open):]
		j := strings.Index(rest, pairs[which].close)
		if j < 0 {
			return turns // an observation cut off by the response length: no turn follows it
		}
		rest = rest[j+len(pairs[which].close):]
	}
	keep(rest)
	return turns
}
