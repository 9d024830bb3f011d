package agentbench

import (
	"strings"
	"testing"
)

// TestRunnerSmall runs the runner benchmark small: every episode answers
// after its scripted turns, and the time split adds up.
func TestRunnerSmall(t *testing.T) {
	res, err := Runner(t.Context(), nil, 40, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.TurnsPerEpisode != 3 || res.SplitPasses != 3 || res.SplitEpisodes != 40 {
		t.Fatalf("report %+v", res)
	}
	if s := res.RetrievalShare + res.GenerationShare + res.OrchestrationShare; s < 0.999 || s > 1.001 {
		t.Errorf("shares sum to %v, want 1", s)
	}
	var b strings.Builder
	res.WriteText(&b)
	if !strings.Contains(b.String(), "40 episodes of 3.0 turns") {
		t.Errorf("text report:\n%s", b.String())
	}
}
