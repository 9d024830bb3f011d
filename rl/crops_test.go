package rl

import (
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
)

// TestStepCrops: a step's crop share counts crops whose text (not their
// header line) holds a gold answer as whole words.
func TestStepCrops(t *testing.T) {
	crop := func(text string) agent.ToolCall {
		return agent.ToolCall{Tool: agent.ToolCrop, Observation: "Crop of page 1 (id Oslo-p1), region [0, 0, 9, 9] of its 640×120 view, zoomed to 9×9 px:\n" + text}
	}
	ep := func(calls ...agent.ToolCall) *agent.Episode {
		return &agent.Episode{Turns: []agent.Turn{{Calls: calls}}}
	}
	batch := []Sample{{Gold: reward.Gold{Answers: []string{"Oslo"}}}, {Gold: reward.Gold{Answers: []string{"46,597,000"}}}}
	eps := []*agent.Episode{
		ep(crop("Its capital is\nOslo.")), // holds it, across a line break
		ep(crop("Osloville is north."), agent.ToolCall{Tool: "search", Observation: "Oslo"}), // not a whole word; a search is no crop
		ep(crop("About 46,597,000 people live there.")),
		ep(),
	}
	st := stepCrops(eps, batch, 2)
	if st == nil || st.Crops != 3 || st.WithAnswer != 2.0/3 {
		t.Fatalf("crop stats %+v, want 3 crops, 2/3 with the answer", st)
	}
	if st := stepCrops([]*agent.Episode{ep()}, batch, 1); st != nil {
		t.Errorf("no crops: %+v, want nil", st)
	}
}
