package agent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImpliedTools: a preset without a tools key gets the set commands
// chose from its mode and tags before presets named tools; an explicit
// empty list stays empty.
func TestImpliedTools(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []ToolSpec
	}{
		{"tags", "prompt: '{question}'\n", []ToolSpec{{Name: ToolSearch}}},
		{"rag", "mode: rag\nprompt: '{question} {documents}'\n", []ToolSpec{{Name: ToolSearch}}},
		{"direct", "mode: direct\nprompt: '{question}'\n", []ToolSpec{}},
		{"region", "tags: {search: search, answer: answer, information: information, region: region}\nprompt: '{question}'\n",
			[]ToolSpec{{Name: ToolSearch, Options: map[string]any{"pages": true}}, {Name: ToolCrop}}},
		{"explicit empty", "tools: []\nprompt: '{question}'\n", []ToolSpec{}},
	} {
		p, err := ParsePreset(tc.name, []byte(tc.yaml))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := cmp.Diff(tc.want, p.Tools); d != "" || p.Tools == nil {
			t.Errorf("%s: tools (-want +got):\n%s", tc.name, d)
		}
	}
}
