package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sleuth-research/sleuth/server/agentapi"
	"github.com/sleuth-research/sleuth/server/mcpserver"
	"github.com/sleuth-research/sleuth/server/openai"
)

// TestMCPCmdConfig builds the mcp command's tools over a real index and
// an HTTP policy, and calls search and research through the Go SDK.
func TestMCPCmdConfig(t *testing.T) {
	w, index := worldIndex(t)
	pol := httptest.NewServer(openai.New(protocolBackend{}, openai.Config{Model: "scripted"}))
	defer pol.Close()
	cfg, closeAll, err := mcpConfig(&llmFlags{spec: pol.URL + "/v1"}, &toolFlags{index: index}, "searchr1,rag", false, agentapi.Limits{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	s, err := mcpserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "search", Arguments: map[string]any{"query": w.Questions[0].Chain[0].Query, "k": 2}})
	if err != nil || res.IsError {
		t.Fatalf("search: %v %+v", err, res)
	}
	var sr mcpserver.SearchResult
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &sr); err != nil || len(sr.Passages) != 2 {
		t.Errorf("search: %v %s", err, b)
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "research", Arguments: map[string]any{"question": w.Questions[0].Question, "preset": "rag"}})
	if err != nil || res.IsError {
		t.Fatalf("research: %v %+v", err, res)
	}
	var rr mcpserver.ResearchResult
	b, _ = json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &rr); err != nil || rr.Answer != "Tarsk" || rr.Episode.Preset != "rag" || len(rr.Citations) == 0 {
		t.Errorf("research: %v %s", err, b)
	}
	if _, _, err := mcpConfig(&llmFlags{}, &toolFlags{}, "searchr1", true, agentapi.Limits{}, ""); err == nil {
		t.Error("mcp with nothing to offer was accepted")
	}
}
