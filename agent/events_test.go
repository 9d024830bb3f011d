package agent

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEventsSchemaMatchesTypes keeps events.schema.json true: every JSON
// field of each type it documents is in the schema, and the schema names
// no field the type lacks.
func TestEventsSchemaMatchesTypes(t *testing.T) {
	var schema struct {
		Version int `json:"version"`
		Defs    map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(EventsSchema, &schema); err != nil {
		t.Fatalf("events.schema.json: %v", err)
	}
	if schema.Version != EventsVersion {
		t.Errorf("schema version %d, EventsVersion %d", schema.Version, EventsVersion)
	}
	types := map[string]any{
		"event": EventRecord{}, "start": EpisodeStart{}, "budget": BudgetJSON{}, "action": Action{}, "call": Call{},
		"hit": HitRef{}, "tool_call": ToolCall{}, "turn": Turn{}, "ledger": Ledger{}, "summary": Summary{},
		"segment": Segment{}, "image": ImageRef{}, "episode": Episode{},
	}
	for def, v := range types {
		d, ok := schema.Defs[def]
		if !ok {
			t.Errorf("schema has no $defs/%s", def)
			continue
		}
		var inSchema []string
		for k := range d.Properties {
			inSchema = append(inSchema, k)
		}
		slices.Sort(inSchema)
		if diff := cmp.Diff(jsonFields(reflect.TypeOf(v)), inSchema); diff != "" {
			t.Errorf("$defs/%s properties differ from %T's JSON fields (-type +schema):\n%s", def, v, diff)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestEventEncoderSequence runs a two-search episode and checks the
// records in the order a stream carries them.
func TestEventEncoderSequence(t *testing.T) {
	pol := newScript()
	q := "Where was the founder of Varnel Labs born?"
	pol.turns[q] = []string{
		"<think>I need the founder.</think>\n<search> Varnel Labs founder </search>",
		"<think>Ada Quill.</think>\n<search> Ada Quill born </search>",
		"<answer> Tarsk </answer>",
	}
	r := runner(t, "searchr1", pol)
	var enc EventEncoder
	var lines []string
	start := enc.Start("q1", q, &r.Preset, time.Now())
	b, _ := json.Marshal(start)
	lines = append(lines, string(b))
	onEvent := func(ev Event) {
		b, err := json.Marshal(enc.Record(ev))
		if err != nil {
			t.Error(err)
		}
		lines = append(lines, string(b))
	}
	ep := r.Run(context.Background(), Question{ID: "q1", Text: q}, 0, WithEvents(onEvent))
	if ep.Status != Answered {
		t.Fatalf("status %s: %s", ep.Status, ep.Reason)
	}
	type head struct {
		V       int       `json:"v"`
		Type    EventType `json:"type"`
		Episode string    `json:"episode"`
		Seq     int       `json:"seq"`
		Turn    int       `json:"turn"`
	}
	var got []head
	for _, l := range lines {
		var h head
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		got = append(got, h)
	}
	want := []head{
		{1, EventStart, "q1", 0, 0},
		{1, EventToolCall, "q1", 1, 0}, {1, EventTurn, "q1", 2, 0},
		{1, EventToolCall, "q1", 3, 1}, {1, EventTurn, "q1", 4, 1},
		{1, EventTurn, "q1", 5, 2},
		{1, EventDone, "q1", 6, 3},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	var done EventRecord
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &done); err != nil {
		t.Fatal(err)
	}
	if done.Done == nil || done.Done.Answer != "Tarsk" || done.Done.Ledger.Searches != 2 {
		t.Errorf("done record %s", lines[len(lines)-1])
	}
	var turn EventRecord
	if err := json.Unmarshal([]byte(lines[2]), &turn); err != nil {
		t.Fatal(err)
	}
	if turn.Policy == nil || turn.Policy.Calls != nil || turn.Policy.Action.Query != "Varnel Labs founder" {
		t.Errorf("turn record should hold the turn without its tool calls: %s", lines[2])
	}
	if !strings.Contains(lines[1], `"input":"Varnel Labs founder"`) || !strings.Contains(lines[1], `"id":"p1"`) {
		t.Errorf("tool_call record lacks the query or its hit: %s", lines[1])
	}
}
