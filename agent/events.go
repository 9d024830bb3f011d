package agent

import (
	_ "embed"
	"time"
)

// EventsVersion is the version of the event and trace format that
// events.schema.json documents. Within a version fields are only added,
// never renamed or removed, so a reader ignores fields it does not know.
const EventsVersion = 1

// EventsSchema is events.schema.json: the JSON Schema of EventRecord (the
// agent server's stream, MCP progress, the UI) and of the trace JSONL
// line (one Episode).
//
//go:embed events.schema.json
var EventsSchema []byte

// EventType names the kind of an EventRecord.
type EventType string

// The record types, in the order an episode emits them: one start, then
// tool_call and turn records as the episode runs, then one done.
const (
	EventStart    EventType = "start"     // the episode began; Start is set
	EventToolCall EventType = "tool_call" // a tool call finished; Call is set
	EventTurn     EventType = "turn"      // a policy turn finished; Policy is set
	EventDone     EventType = "done"      // the episode ended; Done is set
)

// EventRecord is one Event as it travels outside the process, in the
// versioned format of events.schema.json. Exactly one of Start, Policy,
// Call and Done is set, as Type says.
type EventRecord struct {
	V       int       `json:"v"` // EventsVersion
	Type    EventType `json:"type"`
	Episode string    `json:"episode"`
	Seq     int       `json:"seq"` // 0, 1, 2… within the episode
	// Turn is the index of the policy turn the record belongs to: a
	// turn's tool calls come before the turn record itself, which is sent
	// once its calls have returned. In rag mode the retrieval before the
	// first generation belongs to turn 0.
	Turn   int           `json:"turn"`
	Start  *EpisodeStart `json:"start,omitempty"`
	Policy *Turn         `json:"policy,omitempty"` // without Calls: they were sent as tool_call records
	Call   *ToolCall     `json:"call,omitempty"`
	Done   *Summary      `json:"done,omitempty"`
}

// EpisodeStart is what is known of an episode before its first turn.
type EpisodeStart struct {
	Question string     `json:"question"`
	Preset   string     `json:"preset"`
	Budget   BudgetJSON `json:"budget"`
	Started  time.Time  `json:"started"`
}

// BudgetJSON is a Budget in the event format (durations in seconds).
type BudgetJSON struct {
	MaxTurns     int     `json:"max_turns"`
	MaxTokens    int     `json:"max_tokens"`
	MaxToolCalls int     `json:"max_tool_calls"`
	MaxSeconds   float64 `json:"max_seconds"`
}

// JSON returns b in the event format.
func (b Budget) JSON() BudgetJSON {
	return BudgetJSON{MaxTurns: b.MaxTurns, MaxTokens: b.MaxTokens, MaxToolCalls: b.MaxToolCalls, MaxSeconds: b.MaxWall.Seconds()}
}

// Summary is a finished Episode without its token context and turns
// (which the stream has already carried): the outcome, what was read, and
// what it cost.
type Summary struct {
	ID           string    `json:"id"`
	Question     string    `json:"question"`
	Preset       string    `json:"preset"`
	Status       Status    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	Answer       string    `json:"answer"`
	Evidence     []string  `json:"evidence,omitempty"`
	Retrieved    []HitRef  `json:"retrieved,omitempty"`
	Queries      []string  `json:"queries,omitempty"`
	FormatErrors int       `json:"format_errors"`
	Flagged      int       `json:"flagged,omitempty"`
	Ledger       Ledger    `json:"ledger"`
	Started      time.Time `json:"started"`
}

// Summarize returns e's summary; its slices are e's own.
func (e *Episode) Summarize() Summary {
	return Summary{ID: e.ID, Question: e.Question, Preset: e.Preset, Status: e.Status, Reason: e.Reason,
		Answer: e.Answer, Evidence: e.Evidence, Retrieved: e.Retrieved, Queries: e.Queries,
		FormatErrors: e.FormatErrors, Flagged: e.Flagged, Ledger: e.Ledger, Started: e.Started}
}

// EventEncoder turns one episode's Events into numbered EventRecords. It
// is not safe for concurrent use; a Runner reports one episode's events
// from one goroutine at a time, so one encoder per episode is enough.
// Records point into the episode: marshal them before the episode moves
// on (in the OnEvent callback), or copy what they point to.
type EventEncoder struct {
	seq, turns int
}

// Start is the record of an episode beginning.
func (e *EventEncoder) Start(id, question string, p *Preset, started time.Time) EventRecord {
	r := e.next(EventStart, id)
	r.Start = &EpisodeStart{Question: question, Preset: p.Name, Budget: p.Budget.JSON(), Started: started}
	return r
}

// Record is the record of ev.
func (e *EventEncoder) Record(ev Event) EventRecord {
	switch {
	case ev.Turn != nil:
		r := e.next(EventTurn, ev.Episode)
		t := *ev.Turn
		t.Calls = nil
		r.Turn, r.Policy = t.Index, &t
		e.turns = t.Index + 1
		return r
	case ev.Call != nil:
		r := e.next(EventToolCall, ev.Episode)
		r.Call = ev.Call
		return r
	default:
		r := e.next(EventDone, ev.Episode)
		if ev.Done != nil {
			s := ev.Done.Summarize()
			r.Done = &s
		}
		return r
	}
}

func (e *EventEncoder) next(t EventType, id string) EventRecord {
	r := EventRecord{V: EventsVersion, Type: t, Episode: id, Seq: e.seq, Turn: e.turns}
	e.seq++
	return r
}
