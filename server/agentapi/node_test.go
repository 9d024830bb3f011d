package agentapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/internal/nodetest"
)

// TestOpenAINodeClient drives the server with the official openai npm
// package, streaming and not, as a chat UI would.
func TestOpenAINodeClient(t *testing.T) {
	node := nodetest.Require(t, "openai")
	ts := httptest.NewServer(newServer(t, newScript(), Config{APIKey: "test-key"}))
	defer ts.Close()
	out := nodetest.Run(t, node, time.Minute, "openai_agent.mjs", ts.URL, "test-key", question)
	var got struct {
		Models []string `json:"models"`
		Plain  struct {
			Content   string     `json:"content"`
			Finish    string     `json:"finish"`
			Citations []Citation `json:"citations"`
			Status    string     `json:"status"`
			Usage     usage      `json:"usage"`
		} `json:"plain"`
		Stream struct {
			Types     []string   `json:"types"`
			Content   string     `json:"content"`
			Reasoning string     `json:"reasoning"`
			Finish    string     `json:"finish"`
			Usage     *usage     `json:"usage"`
			Citations []Citation `json:"citations"`
		} `json:"stream"`
		Budget struct {
			Finish   string `json:"finish"`
			MaxTurns int    `json:"max_turns"`
			Status   string `json:"status"`
		} `json:"budget"`
		Missing struct {
			Status     int  `json:"status"`
			IsNotFound bool `json:"isNotFound"`
		} `json:"missing"`
		BadArg struct {
			Status       int    `json:"status"`
			IsBadRequest bool   `json:"isBadRequest"`
			Message      string `json:"message"`
		} `json:"badArg"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	if d := cmp.Diff([]string{"sleuth-rag", "sleuth-searchr1"}, got.Models); d != "" {
		t.Errorf("models (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(got.Plain.Content, "Tarsk\n\n") || got.Plain.Finish != "stop" || got.Plain.Status != "answered" ||
		len(got.Plain.Citations) != 2 || got.Plain.Citations[1].URL != "https://example.org/ada" || got.Plain.Usage.TotalTokens == 0 {
		t.Errorf("non-streamed: %+v", got.Plain)
	}
	s := got.Stream
	if d := cmp.Diff([]string{"start", "tool_call", "turn", "tool_call", "turn", "turn", "done"}, s.Types); d != "" {
		t.Errorf("streamed records (-want +got):\n%s", d)
	}
	if s.Content != got.Plain.Content || s.Finish != "stop" || s.Usage == nil || len(s.Citations) != 2 || !strings.Contains(s.Reasoning, "search \"Ada Quill born\"") {
		t.Errorf("streamed: %+v", s)
	}
	if got.Budget.Finish != "length" || got.Budget.MaxTurns != 1 || got.Budget.Status != "over_budget" {
		t.Errorf("budget: %+v", got.Budget)
	}
	if got.Missing.Status != 404 || !got.Missing.IsNotFound {
		t.Errorf("unknown model: %+v", got.Missing)
	}
	if got.BadArg.Status != 400 || !got.BadArg.IsBadRequest || !strings.Contains(got.BadArg.Message, "max_turn") {
		t.Errorf("bad argument: %+v", got.BadArg)
	}
}
