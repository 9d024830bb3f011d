package serverbench

import (
	"testing"
	"time"
)

// TestBenchAgentServe runs the server benchmark small: every request is
// answered and streams its ten chunks (start, three searches, four turns,
// the answer with the done record, the finish).
func TestBenchAgentServe(t *testing.T) {
	res, err := Agent(t.Context(), 20, 5, 4, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 0 || res.EventsPerReq != 10 || res.EpisodeP50Millis < 4 || res.OverheadP50Millis <= 0 {
		t.Errorf("result %+v", res)
	}
}
