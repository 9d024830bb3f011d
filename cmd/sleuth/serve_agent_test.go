package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/server/openai"
)

// TestServeAgent serves three presets over a real BM25 index, their
// policy an OpenAI-compatible server, and asks each by model name.
func TestServeAgent(t *testing.T) {
	w, index := worldIndex(t)
	pol := httptest.NewServer(openai.New(protocolBackend{}, openai.Config{Model: "scripted"}))
	defer pol.Close()
	h, closeFn, err := buildAgentServeHandler(serveFlags{index: index, topk: 3, maxTopK: 10, maxQueries: 8},
		agentServeFlags{presets: "searchr1, rag,deepresearcher", llm: pol.URL + "/v1", concurrent: 4, queued: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, model := range []string{"sleuth-searchr1", "sleuth-rag", "sleuth-deepresearcher"} {
		status, b := postJSON(t, srv.URL+"/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":`+jsonString(w.Questions[0].Question)+`}]}`)
		var got struct {
			Choices []struct {
				Message struct{ Content string }
			}
			Citations []struct{ ID, Title string }
			Sleuth    struct {
				Episode struct{ Status, Preset string }
			}
		}
		if err := json.Unmarshal(b, &got); err != nil || status != 200 {
			t.Fatalf("%s: %d %v: %s", model, status, err, b)
		}
		if !strings.HasPrefix(got.Choices[0].Message.Content, "Tarsk\n\n") || len(got.Citations) == 0 || got.Sleuth.Episode.Status != "answered" || "sleuth-"+got.Sleuth.Episode.Preset != model {
			t.Errorf("%s: %s", model, b)
		}
	}
	// The index is served beside the agents.
	if status, b := postJSON(t, srv.URL+"/retrieve", `{"queries":["founder"],"topk":1}`); status != 200 || !strings.Contains(string(b), `"result"`) {
		t.Errorf("/retrieve: %d %s", status, b)
	}
	if _, _, err := buildAgentServeHandler(serveFlags{model: "m"}, agentServeFlags{presets: "rag", llm: pol.URL}); err == nil {
		t.Error("--agent with --model was accepted")
	}
	if _, _, err := buildAgentServeHandler(serveFlags{index: index}, agentServeFlags{presets: "nosuch", llm: pol.URL}); err == nil {
		t.Error("an unknown preset was accepted")
	}
}
